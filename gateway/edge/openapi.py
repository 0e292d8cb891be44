"""One OpenAPI document for the whole API: the gateway's own routes plus each service's.

Each service publishes its own `/openapi.json` (the contract lives with the code); the
gateway fetches them, keeps each for a minute, and merges paths and components. A service
that is down is left out until it answers again.
"""

import asyncio
import copy
import logging
import time
from typing import Any

import aiohttp
from fastapi import APIRouter, FastAPI, Request
from fastapi.openapi.docs import get_redoc_html, get_swagger_ui_html
from fastapi.responses import FileResponse, HTMLResponse, JSONResponse

from gateway.edge.upstreams import Upstream, Upstreams, is_public, route_for
from gateway.web.vendor import vendor_file
from shared.openapi_doc import finish
from shared.problems import NotFound

logger = logging.getLogger("csloop.gateway.openapi")

# A service builds its document on the first ask (FastAPI then caches it): the customer service's
# took 1.95 s on a loaded 2-core machine, and a document cut short drops every path of that service.
FETCH_TIMEOUT = aiohttp.ClientTimeout(total=10.0)
# A service that failed is asked again after this long, not on every /openapi.json.
RETRY_FAILED_SECONDS = 5.0
UNAUTHENTICATED_PATHS = ("/v1/auth/login",)
# The OAuth2 token endpoint authenticates the client itself (RFC 6749's errors, not a bearer 401).
TOKEN_PATHS = ("/v1/oauth/token",)
# Swagger UI's and Redoc's files, served from ui/node_modules (gateway/web/vendor.py): /docs and /redoc
# load nothing from elsewhere.
DOCS_ASSETS = {
    "swagger-ui-bundle.js": ("swagger-ui-dist/swagger-ui-bundle.js", "text/javascript"),
    "swagger-ui.css": ("swagger-ui-dist/swagger-ui.css", "text/css"),
    "favicon-32x32.png": ("swagger-ui-dist/favicon-32x32.png", "image/png"),
    # Redoc's standalone bundle carries React and the rest of what it needs; no web fonts
    # (the default page would fetch them from Google).
    "redoc.standalone.js": ("redoc/bundles/redoc.standalone.js", "text/javascript"),
}
# The documentation pages may load only the gateway's own files: the browser refuses the rest
# (Redoc's sidebar shows a logo from Redocly's CDN, which no option removes). Swagger UI starts
# from an inline script; both write inline styles; Redoc's search runs in a worker made from a blob.
DOCS_HEADERS = {
    "Content-Security-Policy": ("default-src 'none'; script-src 'self' 'unsafe-inline'; style-src 'self' 'unsafe-inline'; "
                                "img-src 'self' data:; connect-src 'self'; worker-src blob:; base-uri 'none'; "
                                "form-action 'none'; frame-ancestors 'none'"),
    "Referrer-Policy": "no-referrer", "X-Content-Type-Options": "nosniff",
}


class ServiceDocuments:
    def __init__(self, upstreams: Upstreams, cache_seconds: float) -> None:
        self._upstreams = upstreams
        self._cache_seconds = cache_seconds
        self._cache: dict[str, tuple[float, dict[str, Any] | None]] = {}

    async def all(self) -> dict[str, dict[str, Any]]:
        names = [u.name for u in self._upstreams.by_name.values() if u.client is not None]
        docs = await asyncio.gather(*(self._get(self._upstreams[name]) for name in names))
        return {name: doc for name, doc in zip(names, docs) if doc is not None}

    async def _get(self, upstream: Upstream) -> dict[str, Any] | None:
        cached = self._cache.get(upstream.name)
        if cached and cached[0] > time.monotonic():
            return cached[1]
        doc = await _fetch(upstream)
        ttl = self._cache_seconds if doc is not None else RETRY_FAILED_SECONDS
        self._cache[upstream.name] = (time.monotonic() + ttl, doc)
        return doc


async def _fetch(upstream: Upstream) -> dict[str, Any] | None:
    assert upstream.client is not None
    try:
        async with upstream.request("GET", "/openapi.json", timeout=FETCH_TIMEOUT) as response:
            if response.status == 200:
                return await response.json(content_type=None)
            logger.warning("openapi of %s answered %s", upstream.name, response.status)
    except (aiohttp.ClientError, asyncio.TimeoutError, ValueError) as exc:
        logger.warning("openapi of %s unavailable: %s", upstream.name, exc.__class__.__name__)
    return None


def merge(own: dict[str, Any], services: dict[str, dict[str, Any]]) -> dict[str, Any]:
    # Copies: the documents are cached (here and in each app) and the merged one is changed in place.
    merged, services = copy.deepcopy(own), copy.deepcopy(services)
    components = merged.setdefault("components", {})
    for service, doc in sorted(services.items()):
        doc = _rename_clashing_schemas(service, doc, components.get("schemas", {}))
        for path, item in doc.get("paths", {}).items():
            # Only what the gateway actually routes to this service is reachable through it.
            if (route := route_for(path)) is not None and route[1] == service:
                merged.setdefault("paths", {})[path] = item
        for kind, entries in doc.get("components", {}).items():
            for name, entry in entries.items():
                components.setdefault(kind, {}).setdefault(name, entry)
    _declare_bearer_auth(merged)
    finish(merged, is_public=lambda path: is_public(path) or path in UNAUTHENTICATED_PATHS + TOKEN_PATHS,
           is_proxied=lambda path: route_for(path) is not None)
    _declare_rate_limit_fields(merged)
    return merged


def _rename_clashing_schemas(service: str, doc: dict[str, Any], existing: dict[str, Any]) -> dict[str, Any]:
    """Two services may both define `Page_X_` differently: the later one gets a service prefix, in
    its title too (a generator names its classes after titles)."""
    schemas = doc.get("components", {}).get("schemas", {})
    renames = {name: f"{service.capitalize()}{name}" for name, schema in schemas.items()
               if name in existing and existing[name] != schema}
    if not renames:
        return doc
    doc = _rewrite_refs(copy.deepcopy(doc), {f"#/components/schemas/{old}": f"#/components/schemas/{new}"
                                             for old, new in renames.items()})
    doc["components"]["schemas"] = {renames.get(name, name): schema for name, schema in doc["components"]["schemas"].items()}
    for new in renames.values():
        doc["components"]["schemas"][new]["title"] = new
    return doc


def _rewrite_refs(node: Any, refs: dict[str, str]) -> Any:
    if isinstance(node, dict):
        return {key: (refs.get(value, value) if key == "$ref" else _rewrite_refs(value, refs)) for key, value in node.items()}
    if isinstance(node, list):
        return [_rewrite_refs(value, refs) for value in node]
    return node


# gateway/edge/ratelimit.py: every request that spends a token of its caller's bucket (API key,
# user, OAuth client, or the address for the public survey page) carries both fields; a 429
# carries Retry-After too. Not `required`: a request refused before its caller is known has none.
RATE_LIMIT_FIELDS = {
    "RateLimit-Policy": {
        "description": "The caller's quota (IETF httpapi ratelimit-headers, structured-field revision): "
                       '`"default";q=<requests>;w=<seconds>`, a bucket of q requests refilled over w seconds.',
        "schema": {"type": "string", "examples": ['"default";q=400;w=2']},
    },
    "RateLimit": {
        "description": 'Where the caller stands: `"default";r=<requests left>;t=<seconds until the bucket is full>`.',
        "schema": {"type": "string", "examples": ['"default";r=398;t=1']},
    },
}
RETRY_AFTER = {"description": "Seconds to wait before the next request (429).", "schema": {"type": "integer"}}


def _declare_rate_limit_fields(doc: dict[str, Any]) -> None:
    headers = doc["components"].setdefault("headers", {})
    headers.update(RATE_LIMIT_FIELDS)
    headers["Retry-After"] = RETRY_AFTER
    for path, item in doc.get("paths", {}).items():
        if path in UNAUTHENTICATED_PATHS:  # the login's own throttle, not the caller's bucket
            continue
        for operation in item.values():
            if not isinstance(operation, dict):
                continue
            for status, response in operation.get("responses", {}).items():
                if "$ref" in response:
                    continue
                fields = response.setdefault("headers", {})
                for name in RATE_LIMIT_FIELDS:
                    fields.setdefault(name, {"$ref": f"#/components/headers/{name}"})
                if status == "429":
                    fields.setdefault("Retry-After", {"$ref": "#/components/headers/Retry-After"})


def _declare_bearer_auth(doc: dict[str, Any]) -> None:
    doc["components"].setdefault("securitySchemes", {})["bearer"] = {
        "type": "http", "scheme": "bearer", "description": "An API key (csk_...), an OAuth2 access token from /v1/oauth/token (client "
                       "credentials grant) or a user's access token from /v1/auth/login",
    }
    doc["security"] = [{"bearer": []}]
    for path, item in doc.get("paths", {}).items():
        if is_public(path) or path in UNAUTHENTICATED_PATHS + TOKEN_PATHS:
            for operation in item.values():
                if isinstance(operation, dict):
                    operation["security"] = []


def docs_router(app: FastAPI) -> APIRouter:
    router = APIRouter(include_in_schema=False)

    @router.get("/openapi.json")
    async def openapi(request: Request) -> JSONResponse:
        services = await request.app.state.service_documents.all()
        return JSONResponse(merge(app.openapi(), services))

    @router.get("/docs")
    async def swagger() -> HTMLResponse:
        return _with_docs_headers(get_swagger_ui_html(
            openapi_url="/openapi.json", title="CSLoop API", swagger_js_url="/docs/assets/swagger-ui-bundle.js",
            swagger_css_url="/docs/assets/swagger-ui.css", swagger_favicon_url="/docs/assets/favicon-32x32.png",
            # The online validator badge would send the document to validator.swagger.io. Tags start
            # folded: with 140 operations listed open, Swagger UI 5.35 drew the first tag only.
            swagger_ui_parameters={"validatorUrl": None, "docExpansion": "none"},
        ))

    @router.get("/redoc")
    async def redoc() -> HTMLResponse:
        return _with_docs_headers(get_redoc_html(
            openapi_url="/openapi.json", title="CSLoop API", redoc_js_url="/docs/assets/redoc.standalone.js",
            redoc_favicon_url="/docs/assets/favicon-32x32.png", with_google_fonts=False))

    @router.get("/docs/assets/{name}")
    async def docs_asset(name: str) -> FileResponse:
        if name not in DOCS_ASSETS:
            raise NotFound(f"No asset {name}")
        return vendor_file(*DOCS_ASSETS[name])

    return router


def _with_docs_headers(page: HTMLResponse) -> HTMLResponse:
    page.headers.update(DOCS_HEADERS)
    return page
