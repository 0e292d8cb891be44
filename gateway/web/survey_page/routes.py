"""`GET /s/{token}` and `POST /s/{token}`: the survey as an HTML form that works without JavaScript.

GET renders the version the token pins. POST converts the form to `{answers}`, submits it,
and shows the thank-you page, or the same form again with the answers kept and each
validation message under its question. Link problems and an absent survey service are
friendly pages with the matching status, never JSON.
"""

import hashlib
import secrets
from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import FileResponse, HTMLResponse, Response
from fastapi.templating import Jinja2Templates

from gateway.web.languages import negotiate
from gateway.web.survey_page import i18n, upstream
from gateway.web.survey_page.answers import FieldErrors, answers_from_form, field_errors
from gateway.web.survey_page.view import logic_json, progress, question_views
from shared.problems import TooManyRequests

WEB = Path(__file__).resolve().parent.parent  # gateway/web/: templates/ and static/
templates = Jinja2Templates(directory=WEB / "templates")
STYLESHEET = WEB / "static" / "survey.css"
STYLESHEET_VERSION = hashlib.sha256(STYLESHEET.read_bytes()).hexdigest()[:10]
CONDITIONS_SCRIPT = WEB / "static" / "survey-conditions.js"
CONDITIONS_VERSION = hashlib.sha256(CONDITIONS_SCRIPT.read_bytes()).hexdigest()[:10]

router = APIRouter(include_in_schema=False)

# problem type slug of the survey service -> (notice, status of the page)
LINK_NOTICES = {
    "survey-link-unknown": ("unknown", 404), "survey-link-expired": ("expired", 410),
    "survey-link-used": ("used", 410), "survey-already-answered": ("used", 409),
}


# `v`: the file's version in the page's link (a new file, a new URL past every cache); any value
# gets the current file. Declared, as unknown query parameters are refused (shared/strict_query.py).
CacheVersion = Annotated[str | None, Query(alias="v", max_length=64)]


@router.get("/static/survey.css")
async def stylesheet(_version: CacheVersion = None) -> FileResponse:
    return FileResponse(STYLESHEET, media_type="text/css", headers={"Cache-Control": "public, max-age=86400"})


@router.get("/static/survey-conditions.js")
async def conditions_script(_version: CacheVersion = None) -> FileResponse:
    return FileResponse(CONDITIONS_SCRIPT, media_type="text/javascript",
                        headers={"Cache-Control": "public, max-age=86400"})


@router.get("/s/{token}", response_class=HTMLResponse)
async def survey_page(token: str, request: Request, lang: str | None = None) -> Response:
    lang = negotiate(lang, request.headers.get("accept-language"))
    survey = await _open(request, token, lang)
    if isinstance(survey, Response):
        return survey
    return await _form_page(request, token, survey, {}, FieldErrors(), lang, 200)


@router.post("/s/{token}", response_class=HTMLResponse)
async def submit_page(token: str, request: Request, lang: str | None = None) -> Response:
    lang = negotiate(lang, request.headers.get("accept-language"))
    survey = await _open(request, token, lang)
    if isinstance(survey, Response):
        return survey
    form = await request.form()
    answers = answers_from_form(survey["questions"], ((k, v) for k, v in form.multi_items() if isinstance(v, str)))
    try:
        reply = await upstream.submit(request.app.state, token, answers, _client(request))
    except upstream.SurveyUnavailable:
        return _notice(request, "unavailable", 503, lang)
    if reply.status in (200, 201):
        dealer, brand = await upstream.org_names(request.app.state, survey["dealer_code"])
        return _page(request, "survey/thanks.html", 200, lang, token=token, dealer=dealer, brand=brand,
                     title=i18n.local(survey["title"], lang))
    if reply.status == 422:
        errors = field_errors(reply.body, (q["code"] for q in survey["questions"]))
        return await _form_page(request, token, survey, answers, errors, lang, 422)
    return _link_notice(request, reply, lang)


async def _open(request: Request, token: str, lang: str) -> dict[str, Any] | Response:
    """The survey to render, or the page that explains why there is none."""
    try:
        await request.app.state.rate_limiter.admit(f"ip:{_client_host(request)}")
    except TooManyRequests as problem:
        return _notice(request, "busy", 429, lang, headers=problem.headers)
    if not token or len(token) > upstream.MAX_TOKEN_LENGTH:
        return _notice(request, "unknown", 404, lang)
    try:
        reply = await upstream.read_survey(request.app.state, token, _client(request))
    except upstream.SurveyUnavailable:
        return _notice(request, "unavailable", 503, lang)
    if reply.status != 200:
        return _link_notice(request, reply, lang)
    return reply.body


async def _form_page(request: Request, token: str, survey: dict[str, Any], answers: dict[str, Any],
                     errors: FieldErrors, lang: str, status: int) -> Response:
    questions = survey["questions"]
    views = question_views(questions, survey.get("factors", []), answers, errors, lang)
    dealer, brand = await upstream.org_names(request.app.state, survey["dealer_code"])
    return _page(
        request, "survey/form.html", status, lang, token=token, dealer=dealer, brand=brand,
        title=i18n.local(survey["title"], lang), questions=views, logic=logic_json(questions),
        progress=progress(views), general_errors=[i18n.message(m, lang) for m in errors.general],
        invalid=[view for view in views if view.visible and view.invalid], expires_at=survey.get("expires_at", ""),
    )


def _link_notice(request: Request, reply: upstream.Reply, lang: str) -> Response:
    notice, status = LINK_NOTICES.get(reply.problem_slug, ("unknown", 404))
    return _notice(request, notice, status, lang)


def _notice(request: Request, notice: str, status: int, lang: str, headers: dict[str, str] | None = None) -> Response:
    return _page(request, "survey/notice.html", status, lang, notice=notice, extra_headers=headers)


def _page(request: Request, template: str, status: int, lang: str, *, extra_headers: dict[str, str] | None = None,
          **context: Any) -> Response:
    nonce = secrets.token_urlsafe(16)
    response = templates.TemplateResponse(request, template, {
        "lang": lang, "t": i18n.words(lang), "nonce": nonce, "css_version": STYLESHEET_VERSION,
        "conditions_version": CONDITIONS_VERSION,
        "path": request.url.path, **context,
    }, status_code=status)
    response.headers.update({
        # The token is in the URL: no referrer may carry it elsewhere, no cache may keep the page.
        "Cache-Control": "no-store", "Referrer-Policy": "no-referrer", "X-Content-Type-Options": "nosniff",
        "Vary": "Accept-Language",
        "Content-Security-Policy": (f"default-src 'none'; style-src 'self'; script-src 'nonce-{nonce}'; "
                                    "img-src 'self' data:; form-action 'self'; base-uri 'none'; frame-ancestors 'none'"),
        **(extra_headers or {}),
    })
    return response


def _client_host(request: Request) -> str:
    return request.client.host if request.client else "unknown"


def _client(request: Request) -> upstream.Client:
    return upstream.Client(_client_host(request), request.headers.get("user-agent", ""))
