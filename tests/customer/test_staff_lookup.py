"""`GET /internal/staff/{dealer_code}/{code}`: the staff member an improvement plan names as an action's
owner before its `staff.changed` reached the KPI service, asked with the plan's caller's token."""

import pytest

from tests.customer.conftest import ClientFactory
from tests.customer.test_staff import add_staff, retire

pytestmark = pytest.mark.asyncio


async def test_a_staff_member_is_answered_as_staff_changed_within_the_callers_subtree(client_for: ClientFactory) -> None:
    dealer = client_for("DLR-0042")
    member = await add_staff(dealer, name="陈杰")
    url = f"/internal/staff/DLR-0042/{member['code']}"
    for caller in ("DLR-0042", "D-NORTH", "FTMS"):
        answer = await client_for(caller, frozenset({"kpi:write"})).get(url)
        assert answer.status_code == 200, answer.text
        assert answer.json() == {"dealer_code": "DLR-0042", "org_path": "/FTMS/D-NORTH/DLR-0042/",
                                 "staff_id": member["id"], "code": member["code"], "name": "陈杰",
                                 "role": "service_advisor", "active": True, "version": 1}
    for caller in ("DLR-0043", "D-SOUTH"):
        assert (await client_for(caller).get(url)).status_code == 404
    assert (await dealer.get("/internal/staff/DLR-0042/NOBODY")).status_code == 404
    await retire(dealer, member)
    retired = (await dealer.get(url)).json()
    assert (retired["active"], retired["version"]) == (False, 2)
