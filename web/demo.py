"""Routes of the demo chat client.

`/` is a static page (web/static/) that talks to the public API like any other frontend: HTTP
POST to /graphql and graphql-transport-ws for subscriptions. The one thing it needs from the
server besides the API is a token, which `POST /demo/token` hands out for any user id: that is
why these routes exist only when `settings.demo` is on (local mode by default).
"""

from __future__ import annotations

from pathlib import Path

from starlette.requests import Request
from starlette.responses import FileResponse, JSONResponse, RedirectResponse, Response
from starlette.routing import BaseRoute, Mount, Route
from starlette.staticfiles import StaticFiles

from services.domain import UserId, is_user_id
from services.local.npm_assets import AssetBundle, ensure_bundle
from services.local.tools import LocalTools
from services.settings import Settings
from services.tokens.verifiers import HmacTokenVerifier

STATIC_DIR = Path(__file__).with_name("static")
STATIC_PATH = "/demo/static"
VENDOR_PATH = "/demo/vendor"
# A working day: long enough for a demo session, short enough that a leaked one soon expires.
TOKEN_TTL_SECONDS = 12 * 3600

GRAPHQL_WS_VERSION = "6.0.6"
# The browser (UMD) build of the client: it defines the global `graphqlWs`, so the page needs
# no bundler and no build step.
GRAPHQL_WS = AssetBundle(
    name=f"graphql-ws-{GRAPHQL_WS_VERSION}",
    files={
        "graphql-ws.min.js": (
            f"graphql-ws@{GRAPHQL_WS_VERSION}",
            "package/umd/graphql-ws.min.js",
        ),
    },
)


def demo_routes(settings: Settings, tokens: HmacTokenVerifier) -> list[BaseRoute]:
    """The page, its files, the graphql-ws bundle and the dev-token endpoint.

    Called once while the app is built, before it serves: fetching the bundle may block."""
    index = STATIC_DIR / "index.html"

    async def page(_: Request) -> Response:
        # no-cache: after an upgrade the browser revalidates instead of running stale code.
        return FileResponse(index, headers={"Cache-Control": "no-cache"})

    async def issue_token(request: Request) -> JSONResponse:
        try:
            payload = await request.json()
        except ValueError:
            payload = None
        user = payload.get("user") if isinstance(payload, dict) else None
        if not isinstance(user, str) or not is_user_id(user):
            return JSONResponse(
                {
                    "error": 'send JSON {"user": "<id>"}: a user id is 1-128 characters of '
                    "letters, digits and ._@:+-"
                },
                status_code=400,
            )
        return JSONResponse({"token": tokens.issue(UserId(user), ttl_seconds=TOKEN_TTL_SECONDS)})

    return [
        Route("/", page, methods=["GET"]),
        Route("/demo/token", issue_token, methods=["POST"]),
        Mount(STATIC_PATH, StaticFiles(directory=STATIC_DIR), name="demo-static"),
        vendor_route(settings.cache_dir, settings.local_tools),
    ]


def vendor_route(cache_dir: Path, tools: LocalTools) -> BaseRoute:
    """The graphql-ws bundle from the npm cache; when npm can't provide it, a redirect to the
    CDN, so that the page (which always loads it from VENDOR_PATH) still works online.
    ensure_bundle has already logged why."""
    directory = ensure_bundle(cache_dir, GRAPHQL_WS, tools)
    if directory is not None:
        return Mount(VENDOR_PATH, StaticFiles(directory=directory), name="demo-vendor")

    async def to_cdn(request: Request) -> Response:
        file = request.path_params["file"]
        if file not in GRAPHQL_WS.files:
            return Response("not found", status_code=404, media_type="text/plain")
        return RedirectResponse(GRAPHQL_WS.cdn_url(file), status_code=307)

    return Route(VENDOR_PATH + "/{file}", to_cdn, methods=["GET"])
