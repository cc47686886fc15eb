"""The demo client's routes: the page and its files are served, `/demo/token` issues tokens the
API accepts and refuses invalid user ids, and the graphql-ws bundle comes from the npm cache
(or, when npm can't provide it, from a redirect to the CDN)."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest
from starlette.applications import Starlette

from services.local.npm_assets import AssetBundle
from services.local.tools import LocalTools
from services.settings import Settings
from services.tokens.verifiers import HmacTokenVerifier
from tests.conftest import TEST_JWT_SECRET, new_user
from tests.e2e.conftest import GraphQLClient
from web import demo
from web.demo import GRAPHQL_WS, STATIC_DIR, demo_routes


async def test_page_and_its_files_are_served(http: httpx.AsyncClient) -> None:
    page = await http.get("/")
    assert page.status_code == 200
    assert page.headers["content-type"].startswith("text/html")
    assert 'data-testid="signin"' in page.text
    assert '<script type="module" src="/demo/static/init.js">' in page.text
    # Browsers refuse to run a module script served with a non-JavaScript type.
    modules = sorted(path.name for path in STATIC_DIR.glob("*.js"))
    assert "init.js" in modules
    for path, kind in [
        *((f"/demo/static/{module}", "javascript") for module in modules),
        ("/demo/static/app.css", "text/css"),
        ("/demo/vendor/graphql-ws.min.js", "javascript"),
    ]:
        response = await http.get(path)
        assert response.status_code == 200, path
        assert kind in response.headers["content-type"], path
    bundle = await http.get("/demo/vendor/graphql-ws.min.js")
    assert "graphqlWs" in bundle.text  # served from the npm cache, not redirected to a CDN
    assert (await http.get("/demo/vendor/other.js")).status_code == 404


async def test_token_for_a_valid_user_works_against_the_api(http: httpx.AsyncClient) -> None:
    alice = new_user("alice")
    response = await http.post("/demo/token", json={"user": alice})
    assert response.status_code == 200
    token = response.json()["token"]
    assert await GraphQLClient(http, token).data("{ me { id unreadCount } }") == {
        "me": {"id": alice, "unreadCount": 0}
    }


@pytest.mark.parametrize(
    "body",
    [
        b'{"user": "no#hash"}',
        b'{"user": ""}',
        b'{"user": 42}',
        b'{"name": "alice"}',
        b'["alice"]',
        b"user=alice",
        b"",
        b"\xff\xfe",
    ],
)
async def test_token_refuses_invalid_user_ids(http: httpx.AsyncClient, body: bytes) -> None:
    response = await http.post(
        "/demo/token", content=body, headers={"Content-Type": "application/json"}
    )
    assert response.status_code == 400
    assert "user id" in response.json()["error"]


async def test_token_needs_post(http: httpx.AsyncClient) -> None:
    assert (await http.get("/demo/token")).status_code == 405


def app_with_bundle(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, bundle_dir: Path | None
) -> httpx.AsyncClient:
    def fake_ensure_bundle(cache_dir: Path, bundle: AssetBundle, tools: LocalTools) -> Path | None:
        assert (cache_dir, bundle) == (tmp_path, GRAPHQL_WS)
        return bundle_dir

    monkeypatch.setattr(demo, "ensure_bundle", fake_ensure_bundle)
    routes = demo_routes(Settings(cache_dir=tmp_path), HmacTokenVerifier(TEST_JWT_SECRET))
    transport = httpx.ASGITransport(app=Starlette(routes=routes))
    return httpx.AsyncClient(transport=transport, base_url="http://demo.test")


async def test_bundle_is_served_from_the_cache(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    cached = tmp_path / GRAPHQL_WS.name
    cached.mkdir()
    (cached / "graphql-ws.min.js").write_text("var graphqlWs = {};")
    async with app_with_bundle(monkeypatch, tmp_path, cached) as client:
        response = await client.get("/demo/vendor/graphql-ws.min.js")
        assert response.status_code == 200
        assert response.text == "var graphqlWs = {};"


async def test_without_the_bundle_the_page_gets_it_from_the_cdn(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    async with app_with_bundle(monkeypatch, tmp_path, None) as client:
        response = await client.get("/demo/vendor/graphql-ws.min.js")
        assert response.status_code == 307
        assert response.headers["location"] == (
            "https://unpkg.com/graphql-ws@6.0.6/umd/graphql-ws.min.js"
        )
        assert (await client.get("/demo/vendor/other.js")).status_code == 404
        assert (await client.get("/")).status_code == 200
