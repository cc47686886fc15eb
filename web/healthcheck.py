"""The container's health check: `python -m web.healthcheck [PORT]` exits 0 when this host's
server answers `GET /healthz` with 200, else 1. The image has no curl; the Dockerfile's
HEALTHCHECK and the ECS task definition's health check both run this."""

from __future__ import annotations

import sys
import urllib.error
import urllib.request

HEALTH_PATH = "/healthz"
DEFAULT_PORT = 8000
# Below the HEALTHCHECK's own timeout, so a hung server reads as unhealthy, not as a killed check.
TIMEOUT_SECONDS = 3.0


def healthy(port: int) -> bool:
    url = f"http://127.0.0.1:{port}{HEALTH_PATH}"
    try:
        with urllib.request.urlopen(url, timeout=TIMEOUT_SECONDS) as response:
            return bool(response.status == 200)
    except (urllib.error.URLError, OSError):
        return False


def main(argv: list[str]) -> int:
    port = int(argv[0]) if argv else DEFAULT_PORT
    return 0 if healthy(port) else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
