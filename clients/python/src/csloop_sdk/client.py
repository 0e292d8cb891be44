"""`CSLoop`: the client an integrator creates; its attributes are the resource groups."""

import time
from collections.abc import Callable

import httpx

from csloop_sdk import resources as r
from csloop_sdk.transport import ClientCredentials, Transport


class CSLoop:
    """`CSLoop("https://csloop.example", api_key="csk_...")`, or `oauth=ClientCredentials(id, secret)`.

    With neither, only the public operations (`public_surveys`, `auth`) answer. `max_retries` bounds the retries of a 429 or 503 (each waits what Retry-After says, at most
    `max_retry_wait` seconds). Use it as a context manager, or call `close()`.
    """

    def __init__(self, base_url: str, *, api_key: str | None = None, oauth: ClientCredentials | None = None,
                 timeout: float = 30.0, max_retries: int = 3, max_retry_wait: float = 30.0,
                 transport: httpx.BaseTransport | None = None, sleep: Callable[[float], None] = time.sleep) -> None:
        t = Transport(base_url, api_key=api_key, oauth=oauth, timeout=timeout, max_retries=max_retries,
                      max_retry_wait=max_retry_wait, transport=transport, sleep=sleep)
        self.transport = t
        self.orgs = r.Orgs(t)
        self.api_keys = r.ApiKeys(t)
        self.users = r.Users(t)
        self.auth = r.Auth(t)
        self.oauth_clients = r.OAuthClients(t)
        self.webhooks = r.Webhooks(t)
        self.event_types = r.EventTypes(t)
        self.customers = r.Customers(t)
        self.vehicles = r.Vehicles(t)
        self.deliveries = r.Deliveries(t)
        self.service_visits = r.ServiceVisits(t)
        self.prospects = r.Prospects(t)
        self.follow_ups = r.FollowUps(t)
        self.desk_settings = r.DeskSettings(t)
        self.interactions = r.Interactions(t)
        self.lookup = r.Lookup(t)
        self.staff = r.Staff(t)
        self.appointments = r.Appointments(t)
        self.campaigns = r.Campaigns(t)
        self.retention = r.Retention(t)
        self.complaints = r.Complaints(t)
        self.sla_policies = r.SlaPolicies(t)
        self.quality_signals = r.QualitySignals(t)
        self.tech_requests = r.TechRequests(t)
        self.bulletins = r.Bulletins(t)
        self.recalls = r.Recalls(t)
        self.kpi = r.Kpi(t)
        self.improvement_plans = r.ImprovementPlans(t)
        self.evaluations = r.Evaluations(t)
        self.surveys = r.Surveys(t)
        self.invitations = r.Invitations(t)
        self.responses = r.Responses(t)
        self.survey_integrity = r.SurveyIntegrity(t)
        self.public_surveys = r.PublicSurveys(t)

    def __enter__(self) -> "CSLoop":
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    def close(self) -> None:
        self.transport.close()
