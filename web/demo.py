"""Routes of the demo inbox client."""

from __future__ import annotations

from starlette.routing import BaseRoute

from services.auth import HmacTokenVerifier
from services.settings import Settings


def demo_routes(settings: Settings, tokens: HmacTokenVerifier) -> list[BaseRoute]:
    return []
