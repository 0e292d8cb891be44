"""The desk page `/ui/desk` as the gateway serves it, without a browser: a shell with no data that
anyone may load (the browser signs in and calls the API with the user's own token), locked down
by its headers, loading only the gateway's own files, in both languages with every word it uses.
The flow itself runs in Chromium: tests/e2e/test_desk_browser.py."""

import re
from pathlib import Path

import httpx
import pytest

from gateway.web.desk.i18n import WORDS

STATIC = Path(__file__).resolve().parents[2] / "gateway" / "web" / "static"
TEMPLATE = STATIC.parent / "templates" / "desk.html"


async def test_the_page_is_served_to_anyone_and_holds_no_data(client: httpx.AsyncClient) -> None:
    page = await client.get("/ui/desk")
    assert page.status_code == 200
    assert page.headers["content-type"].startswith("text/html")
    assert '<html lang="zh-CN">' in page.text
    assert '<html lang="en">' in (await client.get("/ui/desk", headers={"Accept-Language": "en-US,en;q=0.9"})).text
    assert '<html lang="en">' in (await client.get("/ui/desk?lang=en")).text
    assert "回访工作台" in page.text and "Follow-up desk" in page.text  # both languages embedded for the switch


async def test_the_page_is_locked_down(client: httpx.AsyncClient) -> None:
    headers = (await client.get("/ui/desk")).headers
    policy = headers["content-security-policy"]
    for directive in ("default-src 'none'", "script-src 'self'", "style-src 'self'", "connect-src 'self'",
                      "frame-ancestors 'none'", "base-uri 'none'"):
        assert directive in policy
    assert "unsafe" not in policy  # no inline script or style: injected markup could not run
    assert headers["cache-control"] == "no-store"
    assert headers["x-content-type-options"] == "nosniff"
    assert headers["referrer-policy"] == "no-referrer"
    assert "Accept-Language" in headers["vary"]


async def test_every_script_and_style_is_the_gateways_own_and_served(client: httpx.AsyncClient) -> None:
    html = (await client.get("/ui/desk")).text
    references = set(re.findall(r'(?:src|href)="(/[^"]+)"', html))
    pending = [ref for ref in references if ref.endswith((".js", ".css"))]
    assert "/ui/desk/static/desk-app.js" in pending
    seen: set[str] = set()
    while pending:  # the page's files and the modules they import
        ref = pending.pop()
        if ref in seen:
            continue
        seen.add(ref)
        assert ref.startswith("/") and not ref.startswith("//"), ref
        response = await client.get(ref)
        assert response.status_code == 200, ref
        expected = "text/javascript" if ref.endswith(".js") else "text/css"
        assert response.headers["content-type"].startswith(expected), ref
        for imported in re.findall(r'from "([^"]+)"', response.text):
            pending.append(imported if imported.startswith("/") else ref.rsplit("/", 1)[0] + "/" + imported.removeprefix("./"))
    assert {"/ui/static/dashboard-api.js", "/ui/desk/static/desk-calls.js"} <= seen  # the shared sign-in, our modules


@pytest.mark.parametrize("name", ["dashboard.css", "desk.html", "..%2Fdesk.html", "..%2F..%2Fapp.py", "desk-app.js.map",
                                  "survey.css"])
async def test_the_asset_route_serves_the_desk_files_only(client: httpx.AsyncClient, name: str) -> None:
    response = await client.get(f"/ui/desk/static/{name}")
    assert response.status_code == 404
    assert response.headers["content-type"].startswith("application/problem+json")


def test_every_word_the_page_uses_exists_in_both_languages() -> None:
    assert WORDS["zh-CN"].keys() == WORDS["en"].keys()
    used = set(re.findall(r'data-i18n(?:-aria|-placeholder)?="([a-z_]+)"', TEMPLATE.read_text()))
    used |= {key for path in STATIC.glob("desk-*.js")
             for key in re.findall(r'\bt\("([a-z_]+)"\)|fill\("([a-z_]+)"', path.read_text()) for key in key if key}
    # Words the template builds from a loop variable ("channel_" + channel) and labels built from codes.
    used |= {f"channel_{c}" for c in ("phone", "sms", "wechat", "visit")}
    used |= {f"issue_{c}" for c in ("not_fixed", "price", "attitude", "parts", "product", "other")}
    used |= {"title"}
    missing = sorted(key for key in used if key not in WORDS["zh-CN"])
    assert not missing, missing
