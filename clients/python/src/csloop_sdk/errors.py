"""Error answers (RFC 9457 problem documents) as typed exceptions.

Every answer >= 300 raises a subclass of `CSLoopError` picked by its status, so callers catch
what they can act on (`except NotFound`) and still read the whole problem when they need it.
"""

from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any

import httpx


class CSLoopError(Exception):
    """An error answer: `status`, the problem's `type`, `title`, `detail`, `errors` and the raw `problem`."""

    def __init__(self, status: int, problem: dict[str, Any], headers: httpx.Headers | None = None) -> None:
        self.status = status
        self.problem = problem
        self.headers = headers or httpx.Headers()
        super().__init__(f"{status} {self.title}: {self.detail}".rstrip(": "))

    @property
    def type(self) -> str | None:
        return self.problem.get("type")

    @property
    def title(self) -> str:
        return str(self.problem.get("title") or "")

    @property
    def detail(self) -> str:
        return str(self.problem.get("detail") or "")

    @property
    def errors(self) -> list[dict[str, Any]]:
        """Field errors (`{"field", "message"}`) of a validation problem; empty otherwise."""
        return list(self.problem.get("errors") or [])

    @property
    def request_id(self) -> str | None:
        """The id to quote when asking the operator about this answer."""
        return self.headers.get("X-Request-ID")


class BadRequest(CSLoopError):
    """400."""


class Unauthorized(CSLoopError):
    """401: no credentials, or an unknown, revoked or expired key or token."""


class Forbidden(CSLoopError):
    """403: a scope is missing, or the organisation is outside the caller's subtree."""


class NotFound(CSLoopError):
    """404."""


class Conflict(CSLoopError):
    """409: a duplicate, an illegal state change, or an Idempotency-Key still being processed."""


class PreconditionFailed(CSLoopError):
    """412: the resource changed since it was read (If-Match); read it again. `etag` is the current one."""

    @property
    def etag(self) -> str | None:
        return self.headers.get("ETag")


class PayloadTooLarge(CSLoopError):
    """413."""


class ValidationFailed(CSLoopError):
    """422: the request was understood but refused; `errors` names the fields."""


class PreconditionRequired(CSLoopError):
    """428: an update was sent without If-Match."""


class RateLimited(CSLoopError):
    """429, after the client's own retries: `retry_after` seconds, if the server said."""

    @property
    def retry_after(self) -> float | None:
        return retry_after_seconds(self.headers.get("Retry-After"))


class ServiceUnavailable(CSLoopError):
    """503, after the client's own retries: a service or its database is down for now."""


class ServerError(CSLoopError):
    """Any other 5xx."""


BY_STATUS: dict[int, type[CSLoopError]] = {
    400: BadRequest, 401: Unauthorized, 403: Forbidden, 404: NotFound, 409: Conflict, 412: PreconditionFailed,
    413: PayloadTooLarge, 422: ValidationFailed, 428: PreconditionRequired, 429: RateLimited, 503: ServiceUnavailable,
}


def error_for(response: httpx.Response) -> CSLoopError:
    """The exception an error answer raises; its body need not be a problem (a proxy's HTML page)."""
    try:
        body = response.json()
    except ValueError:
        body = None
    if not isinstance(body, dict):
        body = {"title": response.reason_phrase, "detail": response.text[:500], "status": response.status_code}
    if "error" in body and "title" not in body:  # the OAuth token endpoint answers as RFC 6749 says
        body = {"title": body["error"], "detail": body.get("error_description", ""), **body}
    status = response.status_code
    kind = BY_STATUS.get(status) or (ServerError if status >= 500 else CSLoopError)
    return kind(status, body, response.headers)


def retry_after_seconds(value: str | None) -> float | None:
    """Retry-After in seconds: delta-seconds or an HTTP date."""
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        return max(0.0, (parsedate_to_datetime(value) - datetime.now(UTC)).total_seconds())
    except (TypeError, ValueError):
        return None
