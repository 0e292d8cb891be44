"""RFC 9457 problem details: typed errors, and the one place that renders every error.

Endpoints and domain code raise a `Problem` subclass; FastAPI's own validation errors, HTTP
errors and anything unexpected are rendered the same way, so a client only ever parses one
error shape (`application/problem+json`).
"""

import logging
from http import HTTPStatus
from collections.abc import Sequence
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict
from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from sqlalchemy.orm.exc import StaleDataError
from starlette.exceptions import HTTPException as StarletteHTTPException

PROBLEM_MEDIA_TYPE = "application/problem+json"
PROBLEM_TYPE_BASE = "https://csloop.dev/problems/"

logger = logging.getLogger("csloop.problems")


class Problem(Exception):
    """An error the client can act on. Subclasses fix the status and the type slug."""

    status: int = 400
    slug: str = "bad-request"
    title: str = "Bad request"

    def __init__(
        self,
        detail: str,
        *,
        errors: Sequence[dict[str, Any]] | None = None,
        headers: dict[str, str] | None = None,
        **extensions: Any,
    ) -> None:
        super().__init__(detail)
        self.detail = detail
        self.errors = list(errors) if errors else None
        self.headers = headers or {}
        self.extensions = extensions

    def body(self, instance: str | None = None) -> dict[str, Any]:
        return problem_body(
            self.status, self.title, self.detail, slug=self.slug, instance=instance,
            errors=self.errors, **self.extensions,
        )


class BadRequest(Problem):
    pass


class Unauthorized(Problem):
    status, slug, title = 401, "unauthorized", "Unauthorized"

    def __init__(self, detail: str = "Missing or invalid credentials", **kwargs: Any) -> None:
        kwargs.setdefault("headers", {"WWW-Authenticate": "Bearer"})
        super().__init__(detail, **kwargs)


class Forbidden(Problem):
    status, slug, title = 403, "forbidden", "Forbidden"


class NotFound(Problem):
    status, slug, title = 404, "not-found", "Not found"


class Conflict(Problem):
    status, slug, title = 409, "conflict", "Conflict"


class PreconditionFailed(Problem):
    status, slug, title = 412, "precondition-failed", "Precondition failed"


class PayloadTooLarge(Problem):
    status, slug, title = 413, "payload-too-large", "Payload too large"


class UnsupportedMediaType(Problem):
    status, slug, title = 415, "unsupported-media-type", "Unsupported media type"


class UnprocessableContent(Problem):
    status, slug, title = 422, "validation-error", "Validation failed"


class PreconditionRequired(Problem):
    status, slug, title = 428, "precondition-required", "Precondition required"


class TooManyRequests(Problem):
    status, slug, title = 429, "rate-limited", "Too many requests"


class ServiceUnavailable(Problem):
    status, slug, title = 503, "service-unavailable", "Service unavailable"


def problem_body(
    status: int,
    title: str,
    detail: str,
    *,
    slug: str | None = None,
    instance: str | None = None,
    errors: Sequence[dict[str, Any]] | None = None,
    **extensions: Any,
) -> dict[str, Any]:
    body: dict[str, Any] = {
        "type": PROBLEM_TYPE_BASE + (slug or str(status)),
        "title": title,
        "status": status,
        "detail": detail,
    }
    if instance:
        body["instance"] = instance
    if errors is not None:
        body["errors"] = list(errors)
    body.update(extensions)
    return body


def problem_response(problem: Problem, instance: str | None = None) -> JSONResponse:
    return JSONResponse(
        problem.body(instance), status_code=problem.status,
        media_type=PROBLEM_MEDIA_TYPE, headers=problem.headers,
    )


def validation_errors(raw: Sequence[Any]) -> list[dict[str, str]]:
    """Pydantic/FastAPI error list -> [{field, message}], the field as a dotted path."""
    out = []
    for error in raw:
        location = [str(part) for part in error.get("loc", ()) if part not in ("body", "query", "path", "header")]
        out.append({"field": ".".join(location) or "body", "message": error.get("msg", "invalid")})
    return out


async def _on_problem(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, Problem)
    return problem_response(exc, request.url.path)


async def _on_validation(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    errors = validation_errors(exc.errors())
    detail = "; ".join(f"{e['field']}: {e['message']}" for e in errors[:5])
    return problem_response(UnprocessableContent(detail or "Invalid request", errors=errors), request.url.path)


async def _on_http_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    body = problem_body(exc.status_code, _title(exc.status_code), str(exc.detail), instance=request.url.path)
    return JSONResponse(body, status_code=exc.status_code, media_type=PROBLEM_MEDIA_TYPE, headers=exc.headers)


def _title(status: int) -> str:
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return "Error"


async def _on_stale(request: Request, exc: Exception) -> JSONResponse:
    # Two writers held the same ETag; the database let the first one through (version_id_col).
    return problem_response(PreconditionFailed("The resource changed since you read it; read it again"),
                            request.url.path)


async def _on_unexpected(request: Request, exc: Exception) -> JSONResponse:
    logger.exception("unhandled error on %s %s", request.method, request.url.path)
    body = problem_body(500, "Internal server error", "An unexpected error occurred; it has been logged",
                        instance=request.url.path)
    return JSONResponse(body, status_code=500, media_type=PROBLEM_MEDIA_TYPE)


# PostgreSQL text cannot hold U+0000 (SQLSTATE 22021, and 22P05 in jsonb); SQLite can. Caller input, not a fault.
TEXT_THE_DATABASE_REFUSES = {"22021", "22P05"}
# Connection exceptions (08...), a server shutting down or starting up (57P01-57P03) and one
# with no connection slot left (53300 too_many_connections): retry shortly.
DATABASE_GONE = ("08", "57P0", "53300")


async def _on_database_error(request: Request, exc: Exception) -> JSONResponse:
    sqlstate = getattr(getattr(exc, "orig", None), "sqlstate", None)
    if sqlstate in TEXT_THE_DATABASE_REFUSES:
        refused = UnprocessableContent("Text may not contain NUL (U+0000) characters",
                                       errors=[{"field": "body", "message": "contains a NUL character"}])
        return problem_response(refused, request.url.path)
    if (getattr(exc, "connection_invalidated", False) or isinstance(exc, (OperationalError, InterfaceError))
            or str(sqlstate or "").startswith(DATABASE_GONE)):
        return await _on_database_unreachable(request, exc)
    return await _on_unexpected(request, exc)


async def _on_database_unreachable(request: Request, exc: Exception) -> JSONResponse:
    """A restarting or unreachable database is a 503 the caller may retry, not a 500."""
    logger.warning("database unavailable on %s %s: %s", request.method, request.url.path, exc.__class__.__name__)
    return problem_response(ServiceUnavailable("The database is unavailable; retry shortly"), request.url.path)


def install_problem_handlers(app: FastAPI) -> None:
    app.add_exception_handler(Problem, _on_problem)
    app.add_exception_handler(DBAPIError, _on_database_error)
    app.add_exception_handler(ConnectionError, _on_database_unreachable)  # refused or reset before SQLAlchemy wraps it
    app.add_exception_handler(PoolTimeout, _on_database_unreachable)  # every pooled connection busy past pool_timeout
    app.add_exception_handler(RequestValidationError, _on_validation)
    app.add_exception_handler(StarletteHTTPException, _on_http_error)
    app.add_exception_handler(StaleDataError, _on_stale)
    app.add_exception_handler(Exception, _on_unexpected)


class FieldError(BaseModel):
    field: str
    message: str


class ProblemDetails(BaseModel):
    """The RFC 9457 body every error has (served as application/problem+json)."""

    model_config = ConfigDict(json_schema_extra={"examples": [{
        "type": PROBLEM_TYPE_BASE + "validation-error", "title": "Validation failed", "status": 422,
        "detail": "phone: value is not a valid phone number", "instance": "/v1/customers",
        "errors": [{"field": "phone", "message": "value is not a valid phone number"}],
    }]})

    type: str
    title: str
    status: int
    detail: str
    instance: str | None = None
    errors: list[FieldError] | None = None


def problem_responses(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """Routes declare the problems they raise with this, so the OpenAPI document shows them
    (as application/problem+json: shared/openapi_doc.py)."""
    return {status: {"model": ProblemDetails, "description": _title(status)} for status in statuses}
