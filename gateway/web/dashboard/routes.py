"""`GET /ui` (the page), `/ui/static/dashboard*` (our CSS and JS), `/ui/vendor/echarts.min.js`
(from the npm registry, see gateway/web/vendor.py)."""

import json
import re
from pathlib import Path

from fastapi import APIRouter, Request
from fastapi.responses import FileResponse, HTMLResponse, Response
from fastapi.templating import Jinja2Templates

from gateway.web.dashboard import i18n
from gateway.web.assets import static_asset
from gateway.web.languages import negotiate
from gateway.web.vendor import vendor_file

WEB = Path(__file__).resolve().parent.parent  # gateway/web/: templates/
ASSET_NAME = re.compile(r"^dashboard(-[a-z]+)?\.(css|js)$")
templates = Jinja2Templates(directory=WEB / "templates")

router = APIRouter(include_in_schema=False)


@router.get("/ui", response_class=HTMLResponse)
async def dashboard(request: Request, lang: str | None = None) -> Response:
    lang = negotiate(lang, request.headers.get("accept-language"))
    response = templates.TemplateResponse(request, "dashboard.html", {
        "lang": lang, "t": i18n.WORDS[lang], "words_json": json.dumps(i18n.WORDS, ensure_ascii=False).replace("<", "\\u003c"),
    })
    response.headers.update({
        "Cache-Control": "no-store", "Referrer-Policy": "no-referrer", "X-Content-Type-Options": "nosniff",
        "Vary": "Accept-Language",
        # echarts writes style attributes into its tooltips, hence 'unsafe-inline' for styles only.
        "Content-Security-Policy": ("default-src 'none'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
                                    "img-src 'self' data: blob:; connect-src 'self'; base-uri 'none'; "
                                    "form-action 'self'; frame-ancestors 'none'"),
    })
    return response


@router.get("/ui/static/{name}")
async def asset(name: str) -> FileResponse:
    return static_asset(name, ASSET_NAME)


@router.get("/ui/vendor/echarts.min.js")
async def echarts() -> FileResponse:
    return vendor_file("echarts/dist/echarts.min.js", "text/javascript")
