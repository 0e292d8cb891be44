"""A visit's `owner_verified` (does the visit's customer have the phone of the VIN's owner on the
selling dealer's file? KPI.md fir) travels between services but never to a webhook: to the
visiting dealer's DMS it would answer questions about another dealer's records."""

import json
import uuid

import pytest

from gateway.settings import GatewaySettings
from shared.contracts import customer as contract
from shared.events import new_event
from tests.gateway.conftest import OrgTree, bearer
from tests.gateway.integrations.conftest import (gateway, hooks_database_url, hooks_settings, net,  # noqa: F401
                                                 publish, receiver)
from tests.gateway.integrations.receiver import Receiver


@pytest.mark.parametrize("event_type", [contract.SERVICE_VISIT_CLOSED, contract.SERVICE_VISIT_UPDATED])
async def test_a_visit_webhook_does_not_say_whether_the_customer_is_the_owner_on_record(
        net: OrgTree, receiver: Receiver, hooks_settings: GatewaySettings, event_type: str) -> None:
    dealer = f"/{net.codes['root']}/{net.codes['d1']}/{net.codes['dlr11']}/"
    where = f"/dms/{uuid.uuid4().hex}"
    answer = await net.client.post("/v1/webhooks", headers=bearer(net.admin_keys["dlr11"]), json={
        "url": receiver.answer(where), "event_types": ["service_visit."], "org_code": net.codes["dlr11"]})
    assert answer.status_code == 201, answer.text
    visit = contract.ServiceVisitClosed(
        dealer_code=net.codes["dlr11"], org_path=dealer, visit_id=uuid.uuid4(), ro_number="RO-1",
        vin="LFV3A23C7K3012345", customer_id=uuid.uuid4(), visit_type="repair",
        closed_at="2026-01-02T10:00:00+00:00", owner_verified=False)  # type: ignore[arg-type]
    await publish(net.client, hooks_settings, new_event(contract.SOURCE, event_type, "visits/x",
                                                        visit.model_dump(mode="json")))
    (delivered,) = await receiver.wait_for(where, 1)
    data = json.loads(delivered.body)["data"]
    assert data["ro_number"] == "RO-1" and "owner_verified" not in data
