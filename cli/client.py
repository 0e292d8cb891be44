"""CSLoopClient: a typed Python client of the public API (httpx), for admin scripts and `csloop`.

Authenticate with an API key, or as an OAuth2 client (client credentials; the token is
fetched on first use and again when it expires). Any answer >= 300 raises `CSLoopError`
carrying the problem document. Gateway resources come back as the gateway's own response
models; service resources as dicts (their schemas live in the services, which the gateway
package never imports).
"""

import time
from collections.abc import Generator, Iterable, Iterator
from typing import Any

import httpx

from gateway.schemas import ApiKeyCreated, OAuthClientCreated, OAuthToken, OrgRead, UserRead
from gateway.integrations.webhooks.schemas import DeliveryRead, WebhookCreated, WebhookRead

Json = dict[str, Any]
# A bulk import is one long request: the server answers after the last row is stored.
IMPORT_TIMEOUT = httpx.Timeout(connect=10.0, read=1800.0, write=1800.0, pool=10.0)


def _org(body: Json) -> OrgRead:
    # OrgRead reads `org_path` from the ORM row; the JSON calls it `path`.
    return OrgRead.model_validate(body, by_alias=False, by_name=True)


def _if_match(resource: Json) -> dict[str, str]:
    return {"If-Match": f'"v{resource["version"]}"'}


def _present(**values: Any) -> Json:
    return {name: value for name, value in values.items() if value is not None}


class CSLoopError(Exception):
    """An error answer: `status` and the RFC 9457 `problem` (`type, title, detail, errors`)."""

    def __init__(self, status: int, problem: Json) -> None:
        super().__init__(f"{status} {problem.get('title', '')}: {problem.get('detail', '')}".strip())
        self.status = status
        self.problem = problem

    @property
    def errors(self) -> list[Json]:
        return list(self.problem.get("errors") or [])

    @classmethod
    def of(cls, response: httpx.Response) -> "CSLoopError":
        try:
            body = response.json()
        except ValueError:  # not JSON: a proxy's HTML page, say
            body = {"title": response.reason_phrase, "detail": response.text[:500]}
        if "error" in body and "title" not in body:  # the token endpoint speaks RFC 6749
            body = {"title": body["error"], "detail": body.get("error_description", ""), **body}
        return cls(response.status_code, body)


class ClientCredentials(httpx.Auth):
    """OAuth2 client credentials: bearer token from `/v1/oauth/token`, renewed before it expires."""

    requires_response_body = True

    def __init__(self, client_id: str, client_secret: str, scope: str | None = None) -> None:
        self._form = {"grant_type": "client_credentials", "client_id": client_id, "client_secret": client_secret}
        if scope:
            self._form["scope"] = scope
        self._token: str | None = None
        self._renew_at = 0.0

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        if self._token is None or time.monotonic() >= self._renew_at:
            response = yield httpx.Request("POST", request.url.join("/v1/oauth/token"), data=self._form)
            if response.status_code != 200:
                raise CSLoopError.of(response)
            token = OAuthToken.model_validate(response.json())
            self._token = token.access_token
            self._renew_at = time.monotonic() + token.expires_in * 0.9
        request.headers["Authorization"] = f"Bearer {self._token}"
        yield request


class CSLoopClient:
    def __init__(self, base_url: str, *, api_key: str | None = None, oauth: ClientCredentials | None = None,
                 timeout: float = 30.0, transport: httpx.BaseTransport | None = None) -> None:
        if (api_key is None) == (oauth is None):
            raise ValueError("give exactly one of api_key or oauth")
        headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}
        self.http = httpx.Client(base_url=base_url.rstrip("/"), headers=headers, auth=oauth, timeout=timeout,
                                 transport=transport)

    def __enter__(self) -> "CSLoopClient":
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    def close(self) -> None:
        self.http.close()

    def request(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        response = self.http.request(method, path, **kwargs)
        if response.status_code >= 300:
            raise CSLoopError.of(response)
        return response

    def paged(self, path: str, params: Json | None = None) -> Iterator[Json]:
        """Every item of a list endpoint, following `next_cursor`."""
        query = {k: v for k, v in (params or {}).items() if v is not None}
        while True:
            page = self.request("GET", path, params=query).json()
            yield from page["items"]
            if not page.get("next_cursor"):
                return
            query["cursor"] = page["next_cursor"]

    # Organisations, API keys, users, OAuth clients (gateway)
    def create_org(self, code: str, name: str, kind: str, parent_code: str, region: str | None = None) -> OrgRead:
        body = {"code": code, "name": name, "kind": kind, "parent_code": parent_code, "region": region}
        return _org(self.request("POST", "/v1/orgs", json=body).json())

    def get_org(self, code: str) -> OrgRead:
        return _org(self.request("GET", f"/v1/orgs/{code}").json())

    def list_orgs(self) -> Iterator[OrgRead]:
        return (_org(item) for item in self.paged("/v1/orgs"))

    def create_api_key(self, org_code: str, name: str, scopes: Iterable[str]) -> ApiKeyCreated:
        body = {"org_code": org_code, "name": name, "scopes": list(scopes)}
        return ApiKeyCreated.model_validate(self.request("POST", "/v1/api-keys", json=body).json())

    def revoke_api_key(self, key_id: str) -> None:
        self.request("DELETE", f"/v1/api-keys/{key_id}")

    def create_user(self, username: str, password: str, org_code: str, *, roles: Iterable[str] = (),
                    scopes: Iterable[str] = ()) -> UserRead:
        body = {"username": username, "password": password, "org_code": org_code, "roles": list(roles), "scopes": list(scopes)}
        return UserRead.model_validate(self.request("POST", "/v1/users", json=body).json())

    def create_oauth_client(self, org_code: str, name: str, scopes: Iterable[str]) -> OAuthClientCreated:
        body = {"org_code": org_code, "name": name, "scopes": list(scopes)}
        return OAuthClientCreated.model_validate(self.request("POST", "/v1/oauth/clients", json=body).json())

    # Webhooks (gateway)
    def create_webhook(self, url: str, event_types: Iterable[str], org_code: str) -> WebhookCreated:
        body = {"url": url, "event_types": list(event_types), "org_code": org_code}
        return WebhookCreated.model_validate(self.request("POST", "/v1/webhooks", json=body).json())

    def list_webhooks(self) -> Iterator[WebhookRead]:
        return (WebhookRead.model_validate(item) for item in self.paged("/v1/webhooks"))

    def webhook_deliveries(self, webhook_id: str) -> Iterator[DeliveryRead]:
        return (DeliveryRead.model_validate(item) for item in self.paged(f"/v1/webhooks/{webhook_id}/deliveries"))

    def delete_webhook(self, webhook_id: str) -> None:
        self.request("DELETE", f"/v1/webhooks/{webhook_id}")

    # Customers and their records (customer service)
    def create_customer(self, **fields: Any) -> Json:
        return self.request("POST", "/v1/customers", json=fields).json()

    def get_customer(self, customer_id: str) -> Json:
        return self.request("GET", f"/v1/customers/{customer_id}").json()

    def list_customers(self, *, q: str | None = None, phone: str | None = None, vin: str | None = None,
                       dealer_code: str | None = None) -> Iterator[Json]:
        return self.paged("/v1/customers", {"q": q, "phone": phone, "vin": vin, "dealer_code": dealer_code})

    def import_customers(self, content: bytes | Iterable[bytes], dealer_code: str, *, jsonl: bool = False) -> Json:
        """CSV (or JSON Lines) rows, streamed when `content` is an iterable; `{created, updated, failed, errors}`."""
        content_type = "application/x-ndjson" if jsonl else "text/csv"
        return self.request("POST", "/v1/customers/import", params={"dealer_code": dealer_code}, content=content,
                            headers={"Content-Type": content_type}, timeout=IMPORT_TIMEOUT).json()

    def create_vehicle(self, **fields: Any) -> Json:
        return self.request("POST", "/v1/vehicles", json=fields).json()

    def create_delivery(self, **fields: Any) -> Json:
        return self.request("POST", "/v1/deliveries", json=fields).json()

    def create_service_visit(self, **fields: Any) -> Json:
        return self.request("POST", "/v1/service-visits", json=fields).json()

    # Surveys, complaints, KPIs
    def survey_templates(self) -> list[Json]:
        body = self.request("GET", "/v1/survey-templates").json()
        return body["items"] if isinstance(body, dict) else body

    def create_survey(self, **definition: Any) -> Json:
        return self.request("POST", "/v1/surveys", json=definition).json()

    def publish_survey(self, survey_id: str) -> Json:
        return self.request("POST", f"/v1/surveys/{survey_id}/publish").json()

    def import_survey_responses(self, survey_id: str, responses: list[Json]) -> Json:
        """Third-party results (at most 5,000 a call); `{created, duplicates, failed, errors}`."""
        body = {"survey_id": survey_id, "responses": responses}
        return self.request("POST", "/v1/survey-responses/import", json=body, timeout=IMPORT_TIMEOUT).json()

    def create_complaint(self, **fields: Any) -> Json:
        return self.request("POST", "/v1/complaints", json=fields).json()

    def transition_complaint(self, complaint: Json, to: str, note: str | None = None) -> Json:
        """Move a case (`complaint` as last read: its `version` is the If-Match); returns it as changed."""
        return self.request("POST", f"/v1/complaints/{complaint['id']}/transitions", json={"to": to, "note": note},
                            headers=_if_match(complaint)).json()

    def put_complaint_resolution(self, complaint: Json, **resolution: Any) -> Json:
        return self.request("PUT", f"/v1/complaints/{complaint['id']}/resolution", json=resolution,
                            headers=_if_match(complaint)).json()

    def complaint_sla_policies(self, dealer_code: str | None = None) -> Json:
        return self.request("GET", "/v1/complaint-sla-policies", params=_present(dealer_code=dealer_code)).json()

    def put_complaint_sla_policies(self, policies: list[Json], dealer_code: str | None = None) -> Json:
        body = {"policies": policies, **_present(dealer_code=dealer_code)}
        return self.request("PUT", "/v1/complaint-sla-policies", json=body).json()

    def get_complaint(self, complaint_id: str) -> Json:
        return self.request("GET", f"/v1/complaints/{complaint_id}").json()

    def list_complaints(self, **filters: str | None) -> Iterator[Json]:
        return self.paged("/v1/complaints", filters)

    def kpi_summary(self, org_code: str, period: str) -> Json:
        return self.request("GET", "/v1/kpi/summary", params={"org_code": org_code, "period": period}).json()

    def set_kpi_target(self, org_code: str, kpi: str, period: str, target: float) -> Json:
        """An org's target for one KPI and period (`YYYY`, `YYYY-Qn` or `YYYY-MM`; scope kpi:write)."""
        body = {"org_code": org_code, "kpi": kpi, "period": period, "target": target}
        return self.request("PUT", "/v1/kpi/targets", json=body).json()
