"""`GET /ui/desk` (the page) and `/ui/desk/static/desk*` (its CSS and JS). The sign-in and the
language switch are the dashboard's modules (`/ui/static/dashboard-api.js`, `dashboard-text.js`)."""

import json
import re
from pathlib import Path

from fastapi import APIRouter, Request
from fastapi.responses import FileResponse, HTMLResponse, Response
from fastapi.templating import Jinja2Templates

from gateway.web.desk import i18n
from gateway.web.assets import static_asset
from gateway.web.languages import negotiate

WEB = Path(__file__).resolve().parent.parent  # gateway/web/: templates/
ASSET_NAME = re.compile(r"^desk(-[a-z]+)?\.(css|js)$")
templates = Jinja2Templates(directory=WEB / "templates")

router = APIRouter(include_in_schema=False)

# No third-party script and no inline style or script: everything comes from the gateway itself.
SECURITY_HEADERS = {
    "Cache-Control": "no-store", "Referrer-Policy": "no-referrer", "X-Content-Type-Options": "nosniff",
    "Content-Security-Policy": ("default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
                                "connect-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"),
}


@router.get("/ui/desk", response_class=HTMLResponse)
async def desk(request: Request, lang: str | None = None) -> Response:
    lang = negotiate(lang, request.headers.get("accept-language"))
    response = templates.TemplateResponse(request, "desk.html", {
        "lang": lang, "t": i18n.WORDS[lang], "words_json": json.dumps(i18n.WORDS, ensure_ascii=False).replace("<", "\\u003c"),
    })
    response.headers.update(SECURITY_HEADERS | {"Vary": "Accept-Language"})
    return response


@router.get("/ui/desk/static/{name}")
async def asset(name: str) -> FileResponse:
    return static_asset(name, ASSET_NAME)
