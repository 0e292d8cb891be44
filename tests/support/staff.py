"""Staff a test dealer's records name by code (API.md, Staff): deliveries' `sales_consultant`,
visits' `advisor` and `technician`, interactions' `agent` must be active codes of the dealer."""

from tests.support.suite import Org


def on_staff(dealer: Org, code: str, role: str = "service_advisor", name: str | None = None) -> str:
    """Put `code` on `dealer`'s staff (once; the dealer's own key writes it) and return it."""
    response = dealer.client.post("/v1/staff", json={"dealer_code": dealer.code, "code": code,
                                                     "name": name or code, "role": role})
    assert response.status_code in (201, 409), response.text
    return code
