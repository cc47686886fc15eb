# syntax=docker/dockerfile:1
# The InboxQL image: the API (`serve`, the default) or a delivery worker (`worker`), in external
# mode against AWS. deploy/README.md builds and pushes it; deploy/inboxql.yaml runs it on ECS.
#
#   docker build -t inboxql .
#   docker run inboxql                                # server.py serve: API + in-process workers
#   docker run inboxql --no-worker serve              # the API only (the ECS service runs this)
#   docker run inboxql worker --metrics-port 8000     # delivery workers, /healthz and /metrics
#
# tests/unit/test_dockerfile.py checks this file; tests/e2e/test_container_install.py runs its
# install and entrypoint on the local stack without a Docker daemon.

ARG PYTHON_IMAGE=python:3.11-slim-bookworm
ARG UV_IMAGE=ghcr.io/astral-sh/uv:0.13.9

FROM ${UV_IMAGE} AS uv

# --- build: the locked production dependencies, into /app/.venv ----------------------------
FROM ${PYTHON_IMAGE} AS build
COPY --from=uv /uv /usr/local/bin/uv
# Bytecode compiled once here, since the runtime user cannot write next to the sources; a copy
# rather than hard links, since the cache mount is gone in the next stage; the image's Python,
# never a downloaded one, since the runtime stage has only that one.
ENV UV_COMPILE_BYTECODE=1 \
    UV_LINK_MODE=copy \
    UV_PYTHON_DOWNLOADS=never \
    UV_PROJECT_ENVIRONMENT=/app/.venv
WORKDIR /app
# The dependencies first, in their own layer: a code change then reuses it.
COPY pyproject.toml uv.lock ./
# --no-dev leaves out the dev group and the `local` and `charts` groups it includes: no JRE,
# node, Valkey, moto, matplotlib, nor the test tools.
RUN --mount=type=cache,target=/root/.cache/uv \
    uv sync --frozen --no-dev --no-install-project
COPY server.py commands.py ./
COPY schema ./schema
COPY resolvers ./resolvers
COPY services ./services
COPY web ./web
COPY examples/operations ./examples/operations
RUN --mount=type=cache,target=/root/.cache/uv \
    uv sync --frozen --no-dev

# --- runtime: the interpreter, the environment and the code; no uv, no compilers ----------
FROM ${PYTHON_IMAGE} AS runtime
# A fixed numeric id, so that orchestrators can check it is not root without reading passwd.
RUN groupadd --system --gid 10001 inboxql \
    && useradd --system --uid 10001 --gid inboxql --no-create-home --home-dir /nonexistent \
        --shell /usr/sbin/nologin inboxql
WORKDIR /app
COPY --from=build --chown=root:root /app /app
# INBOXQL_STACK as well as the --stack flag below, so that every process in the image (a shell,
# `server.py token`) reads external mode's defaults: no GraphiQL or demo page, any Host, JSON
# logs, the ALB-sized keep-alive.
ENV PATH=/app/.venv/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    INBOXQL_STACK=external
USER 10001:10001
EXPOSE 8000
HEALTHCHECK --interval=15s --timeout=5s --start-period=30s --retries=3 \
    CMD ["python", "-m", "web.healthcheck", "8000"]
# server.py's options come before its command: `docker run IMAGE worker` runs a worker.
ENTRYPOINT ["python", "server.py", "--host", "0.0.0.0", "--port", "8000", "--stack", "external"]
CMD ["serve"]
