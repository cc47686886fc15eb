"""The endpoints load balancers and scrapers call: /healthz, /readyz and /metrics."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from services.app import App
from services.observability.metrics import PrometheusMetrics


def _app(request: Request) -> App:
    # The lifespan's bootstrap() put it there (see server.py).
    app: App = request.state.inboxql
    return app


async def healthz(_: Request) -> JSONResponse:
    """The process is up (readiness is /readyz's)."""
    return JSONResponse({"status": "ok"})


async def readyz(request: Request) -> JSONResponse:
    checks = await _app(request).probes.readiness()
    # Redis is a cache and a pub/sub relay, never the truth: without it sends, delivery and
    # queries carry on, so its outage must not take every instance out of the balancer.
    ready = checks["dynamodb"] and checks["sqs"]
    status = "unavailable" if not ready else "ready" if all(checks.values()) else "degraded"
    return JSONResponse({"status": status, "checks": checks}, status_code=200 if ready else 503)


def metrics_page(metrics: PrometheusMetrics) -> Callable[[Request], Awaitable[Response]]:
    async def page(request: Request) -> Response:
        # Queue sizes are read now, so a scrape shows them as they are.
        await _app(request).probes.measure_queues()
        return Response(generate_latest(metrics.registry), media_type=CONTENT_TYPE_LATEST)

    return page
