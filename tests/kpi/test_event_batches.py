"""A relay's batch applied together (set-based) leaves exactly what its events leave one by one."""

from typing import Any

import httpx

from shared.auth import INTERNAL_HEADER, mint_internal_token, system_principal
from tests.kpi.conftest import SECRET, as_, summary
from tests.kpi.events import every_kind


async def _post(client: httpx.AsyncClient, body: Any) -> dict[str, Any]:
    token = mint_internal_token(system_principal(), SECRET)
    answer = await client.post("/internal/events", json=body, headers={INTERNAL_HEADER: token})
    assert answer.status_code == 200, answer.text
    return answer.json()


async def _figures(client: httpx.AsyncClient, year: int) -> list[Any]:
    out: list[Any] = [await summary(client, org, str(year)) for org in ("OEM", "DN", "D1", "D2", "DS", "D3")]
    for kind, params in (("rankings", {"kpi": "csi", "level": "dealer"}), ("drivers", {"kind": "csi"})):
        answer = (await client.get(f"/v1/kpi/{kind}", params=params | {"period": str(year)}, headers=as_("OEM"))).json()
        out.append(answer["items"] if kind == "rankings" else answer["factors"])
    return out


class TestRelayBatches:
    async def test_a_batch_applied_together_equals_its_events_one_by_one(self, client, caplog):
        batched, single = every_kind(2071), every_kind(2085)
        outcomes = (await _post(client, batched))["outcomes"]
        assert "failed together" not in caplog.text  # not the one-by-one fallback of shared/consumer.py
        assert list(outcomes.values()).count("applied") == len(batched) - 1  # the twice-delivered one once
        for event in single:
            await _post(client, event)
        figures = await _figures(client, 2071)
        assert figures == await _figures(client, 2085)
        d1 = figures[2]
        assert (d1["csi"]["value"], d1["csi"]["n"]) == (85.0, 2) and d1["response_rate"]["value"] == 200.0
        assert (d1["fir"]["value"], d1["fir"]["n"]) == (50.0, 2)  # the corrected symptom S2 is what the repeat shares
        assert figures[0]["alert_closure"]["value"] == 100.0 and figures[0]["followup_on_time"]["value"] == 100.0
        oem = figures[0]
        assert [(oem[k]["value"], oem[k]["n"]) for k in ("followup_contact_rate", "followup_dissatisfied_rate",
                                                          "appointment_show_rate", "appointment_lead_days")] == [
            (50.0, 2), (100.0, 1), (100.0, 1), (2.0, 1)]

    async def test_a_redelivered_batch_is_all_duplicates_and_changes_nothing(self, client):
        batch = every_kind(2099)
        await _post(client, batch)
        before = await _figures(client, 2099)
        assert set((await _post(client, batch))["outcomes"].values()) == {"duplicate"}
        assert await _figures(client, 2099) == before
