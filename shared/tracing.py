"""OpenTelemetry tracing, off by default (CSLOOP_OTEL_ENABLED=true turns it on).

Each process traces its requests with the ASGI middleware under its own tracer provider
(resource `service.name`); spans go to OTLP over HTTP when CSLOOP_OTEL_ENDPOINT is set,
else to the console. The gateway's proxy injects `traceparent` into the request it
forwards, so a call through the gateway is one trace across the gateway and the service.
"""

from fastapi import FastAPI
from opentelemetry.instrumentation.asgi import OpenTelemetryMiddleware
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor, ConsoleSpanExporter, SpanExporter

from shared.settings import CommonSettings


def _exporter(settings: CommonSettings) -> SpanExporter:
    if settings.otel_endpoint:
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

        return OTLPSpanExporter(endpoint=settings.otel_endpoint.rstrip("/") + "/v1/traces")
    return ConsoleSpanExporter()


def install_tracing(app: FastAPI, settings: CommonSettings) -> None:
    """Call after every other middleware, so the request span encloses them all.

    The provider is kept on `app.state.tracer_provider` (tests add an in-memory exporter).
    """
    if not settings.otel_enabled:
        return
    provider = TracerProvider(resource=Resource.create({"service.name": settings.service_name}))
    provider.add_span_processor(BatchSpanProcessor(_exporter(settings)))
    app.state.tracer_provider = provider
    # Probes and scrapes would be most of the spans and tell nothing; so would one span per
    # ASGI receive/send message.
    app.add_middleware(OpenTelemetryMiddleware, tracer_provider=provider, excluded_urls="/healthz,/readyz,/metrics",
                       exclude_spans=["receive", "send"])
