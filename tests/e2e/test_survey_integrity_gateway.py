"""Issue 17 end to end, gateway side: a dealer's networks set from above flag a survey answered
from them (`dealer_network`) and only that dealer's; the survey service stores the gateway's
salted hashes of address and device, never the raw values."""

import hashlib
import hmac

import pytest

from cli.topology import integrity_secret
from tests.e2e.test_survey_flow import csi_answers
from tests.e2e.test_survey_page import invite, published_survey
from tests.support.suite import INTEGRITY_FLAGS, Network, Org

pytestmark = pytest.mark.e2e

UA = "Mozilla/5.0 (Linux; Android 14) CSLoop-e2e"


def answered(network: Network, dealer: Org, survey_id: str) -> dict:
    """A fresh invitation of `dealer`, opened and answered from this machine (127.0.0.1)."""
    token = invite(dealer, survey_id)["token"]
    public = network.client(None)
    assert public.get(f"/v1/public/surveys/{token}", headers={"User-Agent": UA}).status_code == 200
    submitted = public.post(f"/v1/public/surveys/{token}/responses", headers={"User-Agent": UA},
                            json={"answers": csi_answers(9, nps=9)})
    assert submitted.status_code == 201, submitted.text
    return submitted.json()


def test_answers_from_the_dealers_own_network_are_flagged_and_hashed(network: Network) -> None:
    distributor = network.org("distributor")
    on = distributor.client.put("/v1/survey-integrity/rules", json={
        "org_code": distributor.code, "flags": {flag: {"on": True} for flag in INTEGRITY_FLAGS}})
    assert on.status_code == 200, on.text
    dealer, sibling = network.org("dealer", distributor), network.org("dealer", distributor)
    assert dealer.client.put(f"/v1/orgs/{dealer.code}/networks", json={"cidrs": ["127.0.0.1/32"]}).status_code == 403
    put = distributor.client.put(f"/v1/orgs/{dealer.code}/networks", json={"cidrs": ["127.0.0.1/32"]})
    assert put.status_code == 200, put.text
    surveys = {org.code: published_survey(org, {"template": "csi"}) for org in (dealer, sibling)}

    own = answered(network, dealer, surveys[dealer.code])
    read = distributor.client.get(f"/v1/survey-responses/{own['id']}").json()["integrity"]
    assert "dealer_network" in read["flags"] and read["status"] == "flagged"
    secret = integrity_secret(network.suite.data_dir).encode()
    assert read["client_hash"] == hmac.new(secret, b"127.0.0.1", hashlib.sha256).hexdigest()
    assert read["device_hash"] == hmac.new(secret, f"127.0.0.1\n{UA}".encode(), hashlib.sha256).hexdigest()
    assert read["client_hash"] != hashlib.sha256(b"127.0.0.1").hexdigest()

    # The same showroom answering its sibling's customer: not the sibling's network.
    other = answered(network, sibling, surveys[sibling.code])
    other_read = distributor.client.get(f"/v1/survey-responses/{other['id']}").json()["integrity"]
    assert "dealer_network" not in other_read["flags"]
    assert other_read["client_hash"] == read["client_hash"]  # one address, one hash
