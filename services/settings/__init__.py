"""Every setting InboxQL reads, read once at start-up.

Values come from the environment; `server.py` flags override a few of them. Nothing else in the
code base looks at `os.environ` (botocore still reads the standard AWS variables itself). Each
variable is declared once, in `services/settings/variables.py`: its field here, its values, its
default and its meaning; the field defaults below, `from_env`, `server.py --help` and the
README's settings table all come from that declaration.
"""

# RUF009 warns that a call in a field default runs once, at class creation: that is the point
# of `_declared`, and every value it gives is immutable (str, Path, numbers, tuples).
# ruff: noqa: RUF009

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from services.local.sqs_emulators import SqsEmulator
from services.local.tools import LocalTools
from services.settings.parsers import SettingsError
from services.settings.rows import UnderHome, help_rows, markdown_table
from services.settings.variables import (
    ENV_ROWS,
    ROWS,
    STACK,
    LogFormat,
    StackKind,
)

__all__ = [
    "SETTINGS_HELP",
    "LogFormat",
    "Settings",
    "SettingsError",
    "SqsEmulator",
    "StackKind",
    "settings_table_markdown",
]

_ROW_OF_FIELD = {row.field: row for row in ENV_ROWS}


def _declared(name: str) -> Any:
    """The dataclass field for the row that fills `name`, with that row's default."""
    row = _ROW_OF_FIELD[name]
    if isinstance(row.default, UnderHome):
        return field(default_factory=row.default_value, repr=not row.secret)
    return field(default=row.default_value(), repr=not row.secret)


# What `server.py --help` lists: (variable, default, meaning) for every variable read.
SETTINGS_HELP: tuple[tuple[str, str, str], ...] = help_rows(ROWS)


def settings_table_markdown() -> str:
    """The README's settings table (tests/unit/test_settings.py keeps the README equal to it)."""
    return markdown_table(ROWS)


@dataclass(frozen=True)
class Settings:
    stack: StackKind = _declared("stack")
    data_dir: Path = _declared("data_dir")
    cache_dir: Path = _declared("cache_dir")
    # Local mode only: which SQS emulator, and the programs the local stack runs.
    sqs_emulator: SqsEmulator = _declared("sqs_emulator")
    local_tools: LocalTools = field(default_factory=LocalTools)
    # Secret-bearing: never logged. None in local mode means "generate one in data_dir".
    jwt_secret: str | None = _declared("jwt_secret")
    jwt_leeway_seconds: int = _declared("jwt_leeway_seconds")
    # An identity provider's keys; its tokens are checked against issuer/audience when set.
    jwks_url: str | None = _declared("jwks_url")
    jwt_issuer: str | None = _declared("jwt_issuer")
    jwt_audience: str | None = _declared("jwt_audience")
    jwks_min_refresh_seconds: int = _declared("jwks_min_refresh_seconds")
    aws_region: str = _declared("aws_region")
    table_name: str = _declared("table_name")
    queue_name: str = _declared("queue_name")
    dead_letter_queue_name: str = _declared("dead_letter_queue_name")
    max_receive_count: int = _declared("max_receive_count")
    visibility_timeout_seconds: int = _declared("visibility_timeout_seconds")
    # Read messages this many days old expire through TTL (services/retention.py); None: never.
    retention_days: int | None = _declared("retention_days")
    redis_url: str = _declared("redis_url")
    # REDIS_URL names one node of a Redis Cluster: slot-aware reads, sharded pub/sub.
    redis_cluster: bool = _declared("redis_cluster")
    graphiql: bool = _declared("graphiql")
    # The demo chat page at `/` and its dev-token endpoint: anyone who can reach the server
    # can then act as any user, so it is on only in local mode unless explicitly enabled.
    demo: bool = _declared("demo")
    # Budgets for one network call; botocore retries (standard mode) fit inside a request.
    connect_timeout_seconds: float = _declared("connect_timeout_seconds")
    read_timeout_seconds: float = _declared("read_timeout_seconds")
    aws_max_attempts: int = _declared("aws_max_attempts")
    # Not a variable: how long Redis keeps a message body, one day.
    body_cache_ttl_seconds: int = 86_400
    worker_concurrency: int = _declared("worker_concurrency")
    # How long one SQS receive waits for messages. Stopping a worker waits for its current
    # poll to answer (a poll dropped mid-wait can still take messages and hide them for the
    # visibility timeout), so this bounds shutdown time; short locally, cheaper when longer.
    long_poll_seconds: int = _declared("long_poll_seconds")
    # How long a send may wait for others to share its SendMessageBatch call (10 at most go
    # together); 0 sends each message on its own. Every send still waits for SQS's answer.
    send_batch_linger_ms: int = _declared("send_batch_linger_ms")
    # Text for people at a terminal; JSON, one object a line, for log pipelines.
    log_format: LogFormat = _declared("log_format")
    # Browsers let any page open a WebSocket to any server, with the user's cookies: only
    # same-origin pages, clients without Origin (not browsers), and these origins may connect.
    # Host names served (any port); `*` any. Loopback only in local mode (DNS rebinding).
    allowed_hosts: tuple[str, ...] = _declared("allowed_hosts")
    allowed_origins: tuple[str, ...] = _declared("allowed_origins")
    ws_init_timeout_seconds: float = _declared("ws_init_timeout_seconds")
    # graphql-transport-ws pings keep idle sockets open through load balancers (AWS ALB drops
    # them after 60 s idle by default) and find dead peers, whose sockets are then closed.
    ws_ping_interval_seconds: float = _declared("ws_ping_interval_seconds")
    ws_pong_timeout_seconds: float = _declared("ws_pong_timeout_seconds")
    ws_max_subscriptions: int = _declared("ws_max_subscriptions")
    ws_max_connections_per_user: int = _declared("ws_max_connections_per_user")
    ws_max_message_bytes: int = _declared("ws_max_message_bytes")
    # Per user, shared by every process through Redis; 0 turns the limit off.
    send_rate_limit: int = _declared("send_rate_limit")
    send_rate_window_seconds: int = _declared("send_rate_window_seconds")
    # setTyping calls per user per minute, shared like the send limit; 0 turns it off.
    typing_rate_limit: int = _declared("typing_rate_limit")
    # Slow clients: a request head, then its body, must arrive within these (web/).
    header_timeout_seconds: float = _declared("header_timeout_seconds")
    body_timeout_seconds: float = _declared("body_timeout_seconds")
    keep_alive_timeout_seconds: int = _declared("keep_alive_timeout_seconds")
    max_connections: int = _declared("max_connections")
    # Every operation of a user, shared like the send limit; 0 turns the limit off.
    read_rate_limit: int = _declared("read_rate_limit")
    read_rate_window_seconds: int = _declared("read_rate_window_seconds")
    max_message_nodes: int = _declared("max_message_nodes")
    # Registrations per user per day; what a client registers beyond it runs unstored.
    persisted_query_quota: int = _declared("persisted_query_quota")
    persisted_query_total_quota: int = _declared("persisted_query_total_quota")
    max_body_bytes: int = _declared("max_body_bytes")
    # Inbox query answers kept per process while the user's inbox version is unchanged
    # (schema/transport/response_cache.py), bounded in bytes; 0 turns the cache off. Each user
    # has a share, so that one user's distinct documents cannot push everyone else's out.
    response_cache_bytes: int = _declared("response_cache_bytes")
    response_cache_user_bytes: int = _declared("response_cache_user_bytes")
    response_cache_max_answer_bytes: int = _declared("response_cache_max_answer_bytes")
    # Follows `graphiql` by default (the IDE needs it), so off in external mode: the schema is
    # public in the README, but a probe of production should not get a map of it.
    introspection: bool = _declared("introspection")
    # OpenTelemetry: off unless an exporter is named (docs/tracing.md); see `tracing`.
    traces_exporter: str = _declared("traces_exporter")
    otel_sdk_disabled: bool = _declared("otel_sdk_disabled")

    @classmethod
    def from_env(
        cls, environ: Mapping[str, str] | None = None, *, verifies_tokens: bool = True
    ) -> Settings:
        """`verifies_tokens=False` for a process that serves no API (the Lambda worker): it
        needs no JWT secret or JWKS, and external mode then asks for neither."""
        env = os.environ if environ is None else environ
        # STACK's own default does not depend on the stack, so `local` here is moot.
        local = STACK.read(env, local=True) == "local"
        values = {row.field: row.read(env, local) for row in ENV_ROWS}
        settings = cls(local_tools=LocalTools.from_env(env), **values)
        missing_keys = not (settings.jwt_secret or settings.jwks_url)
        if verifies_tokens and settings.stack == "external" and missing_keys:
            raise SettingsError(
                "INBOXQL_JWT_SECRET (or INBOXQL_JWKS_URL) is required when INBOXQL_STACK=external"
            )
        return settings

    @property
    def tracing(self) -> bool:
        """Whether the composition root builds the traced parts (services/observability)."""
        return self.traces_exporter != "none" and not self.otel_sdk_disabled

    def with_overrides(self, **changes: object) -> Settings:
        return replace(self, **changes)  # type: ignore[arg-type]
