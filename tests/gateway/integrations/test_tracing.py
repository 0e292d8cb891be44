"""OpenTelemetry: a request through the gateway to a service is one trace in both processes."""

import asyncio
from pathlib import Path

import httpx
import uvicorn
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from gateway.app import create_app as create_gateway
from gateway.settings import GatewaySettings
from services.customer.app import create_app as create_customer
from services.customer.settings import CustomerSettings
from tests.gateway.conftest import OrgTree, bearer, free_port


def _record(app) -> InMemorySpanExporter:  # noqa: ANN001
    memory = InMemorySpanExporter()
    app.state.tracer_provider.add_span_processor(SimpleSpanProcessor(memory))
    return memory


async def test_gateway_and_service_spans_share_the_trace(net: OrgTree, hooks_settings: GatewaySettings,
                                                         tmp_path: Path) -> None:
    port = free_port()
    customer = create_customer(CustomerSettings(
        database_url=f"sqlite+aiosqlite:///{tmp_path / 'customer.db'}", internal_secret=hooks_settings.internal_secret,
        otel_enabled=True, relay_enabled=False, log_json=False, log_level="WARNING"), migrate=True)
    service_spans = _record(customer)
    traced = hooks_settings.model_copy(update={"otel_enabled": True, "customer_url": f"http://127.0.0.1:{port}",
                                               "webhooks_dispatcher_enabled": False})
    gateway = create_gateway(traced)
    gateway_spans = _record(gateway)
    server = uvicorn.Server(uvicorn.Config(customer, host="127.0.0.1", port=port, log_level="warning"))
    serving = asyncio.create_task(server.serve())
    try:
        while not server.started:
            await asyncio.sleep(0.02)
        async with gateway.router.lifespan_context(gateway), httpx.AsyncClient(
                transport=httpx.ASGITransport(app=gateway), base_url="http://gateway.test") as client:
            response = await client.get("/v1/customers", headers=bearer(net.admin_keys["dlr11"]))
        assert response.status_code == 200, response.text
    finally:
        server.should_exit = True
        await serving
        for app in (customer, gateway):  # flush now: the console exporter must not outlive pytest's capture
            app.state.tracer_provider.shutdown()
    [gateway_span] = [s for s in gateway_spans.get_finished_spans() if s.parent is None]
    [service_span] = [s for s in service_spans.get_finished_spans() if s.name.startswith("GET")]
    assert service_span.context.trace_id == gateway_span.context.trace_id
    assert service_span.parent is not None and service_span.parent.span_id == gateway_span.context.span_id
    assert service_span.resource.attributes["service.name"] == "customer"
    assert gateway_span.resource.attributes["service.name"] == "gateway"
