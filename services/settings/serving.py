"""The settings rows for how the API and its workers serve: pages switched on or off, time
budgets per call, worker loops, and the limits per request, socket and user. Part of the one
declaration in `services/settings/variables.py`, in its order.
"""

from __future__ import annotations

from services.settings.parsers import BOOLEAN, HOSTS, ORIGINS, POSITIVE_NUMBER, integer
from services.settings.rows import ByStack, EnvRow, Follows

# A developer's conveniences, which let anyone who reaches the server look around or act.
_LOCAL_ONLY = ByStack("true", "false")

GRAPHIQL = EnvRow(
    "INBOXQL_GRAPHIQL",
    "graphiql",
    BOOLEAN,
    _LOCAL_ONLY,
    "serve GraphiQL at GET /graphql",
    "serve GraphiQL at `GET /graphql`",
)

SERVING_ROWS: tuple[EnvRow, ...] = (
    GRAPHIQL,
    EnvRow(
        "INBOXQL_DEMO",
        "demo",
        BOOLEAN,
        _LOCAL_ONLY,
        "demo chat page at / with dev tokens for anyone",
        "serve the demo chat client at `/` and its dev-token endpoint `POST /demo/token`; anyone "
        "who can reach it can act as any user",
    ),
    EnvRow(
        "INBOXQL_CONNECT_TIMEOUT",
        "connect_timeout_seconds",
        POSITIVE_NUMBER,
        "2",
        "seconds to connect, per network call",
    ),
    EnvRow(
        "INBOXQL_READ_TIMEOUT",
        "read_timeout_seconds",
        POSITIVE_NUMBER,
        "5",
        "seconds to read, per network call",
        "seconds to read, per network call (the SQS long poll gets 20 s more)",
    ),
    EnvRow(
        "INBOXQL_AWS_MAX_ATTEMPTS",
        "aws_max_attempts",
        integer(1, 10),
        "3",
        "botocore attempts per call, the first included",
        "botocore standard-mode attempts per call, the first one included (like "
        "`AWS_MAX_ATTEMPTS`)",
    ),
    EnvRow(
        "INBOXQL_WORKER_CONCURRENCY",
        "worker_concurrency",
        integer(1, 64),
        "2",
        "delivery loops per process",
    ),
    EnvRow(
        "INBOXQL_LONG_POLL_SECONDS",
        "long_poll_seconds",
        integer(0, 20),
        ByStack("2", "10"),
        "SQS long poll; bounds worker shutdown",
        "how long one SQS receive waits. A stopping worker waits for its current poll, so this "
        "bounds shutdown time",
    ),
    EnvRow(
        "INBOXQL_SEND_BATCH_LINGER_MS",
        "send_batch_linger_ms",
        integer(0, 1000),
        "5",
        "wait for sends to share an SQS batch; 0: none",
        "milliseconds a `sendMessage` may wait for others to share its SQS `SendMessageBatch` "
        "call (10 messages, 256 KiB at most); each send still answers only once SQS accepted "
        "its own message. `0` sends each message on its own",
    ),
    EnvRow(
        "INBOXQL_ALLOWED_HOSTS",
        "allowed_hosts",
        HOSTS,
        # Loopback only in local mode: a page on a rebound DNS name would otherwise reach the
        # dev tokens. Production sits behind a load balancer whose health checks use the
        # task's IP as Host, so any host there unless narrowed.
        ByStack("localhost,127.0.0.1,[::1]", "*"),
        "Host names served (any port); others get 421",
        "host names the server answers (any port; `*` for any); another `Host` gets 421, and a "
        "WebSocket handshake with one is refused. `/healthz` and `/readyz` answer any host",
    ),
    EnvRow(
        "INBOXQL_ALLOWED_ORIGINS",
        "allowed_origins",
        ORIGINS,
        "",
        "other origins whose pages may open WebSockets (a,b)",
        "other origins whose pages may open WebSockets",
    ),
    EnvRow(
        "INBOXQL_WS_INIT_TIMEOUT",
        "ws_init_timeout_seconds",
        POSITIVE_NUMBER,
        "10",
        "seconds a WebSocket has to send connection_init",
        "seconds a WebSocket has to send `connection_init` (else 4408)",
    ),
    EnvRow(
        "INBOXQL_WS_PING_INTERVAL",
        "ws_ping_interval_seconds",
        POSITIVE_NUMBER,
        "20",
        "seconds between server pings on a WebSocket",
    ),
    EnvRow(
        "INBOXQL_WS_PONG_TIMEOUT",
        "ws_pong_timeout_seconds",
        POSITIVE_NUMBER,
        "20",
        "seconds to answer a ping before being closed",
        "seconds a client has to answer a ping (else 1011)",
    ),
    EnvRow(
        "INBOXQL_WS_MAX_SUBSCRIPTIONS",
        "ws_max_subscriptions",
        integer(1, 1000),
        "50",
        "operations at once on one WebSocket",
    ),
    EnvRow(
        "INBOXQL_WS_MAX_CONNECTIONS_PER_USER",
        "ws_max_connections_per_user",
        integer(1, 10_000),
        "20",
        "WebSockets per user, per process",
        "WebSockets per user, per server process (else 1013)",
    ),
    EnvRow(
        "INBOXQL_WS_MAX_MESSAGE_BYTES",
        "ws_max_message_bytes",
        integer(1024, 16 * 1024 * 1024),
        "65536",
        "largest WebSocket message accepted",
        "largest WebSocket message, in bytes (else 1009)",
    ),
    EnvRow(
        "INBOXQL_SEND_RATE_LIMIT",
        "send_rate_limit",
        integer(0, 1_000_000),
        "60",
        "sendMessage calls per user per window; 0: no limit",
        "`sendMessage` calls per user per window, counted in Redis across processes; `0` turns "
        "the limit off",
    ),
    EnvRow(
        "INBOXQL_SEND_RATE_WINDOW_SECONDS",
        "send_rate_window_seconds",
        integer(1, 86_400),
        "60",
        "the send rate limit's window",
        "seconds in the send rate limit's window",
    ),
    EnvRow(
        "INBOXQL_TYPING_RATE_LIMIT",
        "typing_rate_limit",
        integer(0, 1_000_000),
        "60",
        "setTyping calls per user per minute; 0: no limit",
        "`setTyping` calls per user per minute, counted in Redis across processes (apart from "
        "the send limit); `0` turns the limit off",
    ),
    EnvRow(
        "INBOXQL_HEADER_TIMEOUT",
        "header_timeout_seconds",
        POSITIVE_NUMBER,
        "10",
        "seconds to send a request's headers; else closed",
        "seconds a connection has to send a whole request head (from its first byte, or from "
        "connecting); else it gets 408 and is closed",
    ),
    EnvRow(
        "INBOXQL_BODY_TIMEOUT",
        "body_timeout_seconds",
        POSITIVE_NUMBER,
        "10",
        "seconds to send a request's body; else 408",
        "seconds a request has to send its whole body once its headers are in; else it gets "
        "408 with a `REQUEST_TIMEOUT` error and the connection is closed",
    ),
    EnvRow(
        "INBOXQL_KEEP_ALIVE_TIMEOUT",
        "keep_alive_timeout_seconds",
        integer(1, 3600),
        # Behind an ALB (60 s idle timeout) the target must keep an idle connection longer than
        # the balancer does, or a request racing the target's close gets a 502.
        ByStack("5", "65"),
        "seconds an idle kept-alive connection stays open",
        "seconds an idle kept-alive HTTP connection stays open between requests. Behind a load "
        "balancer keep it above the balancer's idle timeout (an ALB's is 60 s), or requests that "
        "race the server's close get 502",
    ),
    EnvRow(
        "INBOXQL_MAX_CONNECTIONS",
        "max_connections",
        integer(16, 1_000_000),
        "15000",
        "open connections per process, WebSockets included",
        "open connections per server process, WebSockets included; one more is answered 503 "
        "and closed. Keep it above the WebSockets a process holds (10,000 measured) plus its "
        "HTTP connections, and below its file limit",
    ),
    EnvRow(
        "INBOXQL_READ_RATE_LIMIT",
        "read_rate_limit",
        integer(0, 1_000_000),
        "1200",
        "GraphQL operations per user per window; 0: no limit",
        "GraphQL operations (queries, mutations, subscribes, answers from the response cache) "
        "per user per window, counted in Redis across processes; `0` turns the limit off",
    ),
    EnvRow(
        "INBOXQL_READ_RATE_WINDOW_SECONDS",
        "read_rate_window_seconds",
        integer(1, 86_400),
        "60",
        "the read rate limit's window",
        "seconds in the read rate limit's window",
    ),
    EnvRow(
        "INBOXQL_MAX_MESSAGE_NODES",
        "max_message_nodes",
        integer(1, 100_000),
        "500",
        "messages one operation may return, counted before it runs",
        "messages one operation may return, counted before it runs: every `first`, "
        "markRead/markUnread id and alias of them (else `BAD_USER_INPUT`)",
    ),
    EnvRow(
        "INBOXQL_PERSISTED_QUERY_QUOTA",
        "persisted_query_quota",
        integer(0, 1_000_000),
        "200",
        "persisted queries one user may register per day; 0: none",
        "persisted-query registrations per user per day, counted in Redis across processes; "
        "`0` turns registration off (hashes already stored still run)",
    ),
    EnvRow(
        "INBOXQL_PERSISTED_QUERY_TOTAL_QUOTA",
        "persisted_query_total_quota",
        integer(1, 10_000_000),
        "10000",
        "persisted queries all users together may register per day",
        "persisted-query registrations per day for all users together: with documents of at "
        "most 20 kB kept a day, the store stays under about 2 x this x 20 kB of Redis",
    ),
    EnvRow(
        "INBOXQL_MAX_BODY_BYTES",
        "max_body_bytes",
        integer(1024, 1 << 26),
        "65536",
        "largest HTTP request body; bigger gets 413",
        "largest HTTP request body, in bytes; a bigger one gets 413",
    ),
    EnvRow(
        "INBOXQL_RESPONSE_CACHE_BYTES",
        "response_cache_bytes",
        integer(0, 1 << 36),
        "67108864",
        "bytes of inbox query answers kept per process; 0: off",
        "bytes of inbox query answers kept per process while the user's inbox is unchanged "
        '(see "Response cache"), keys and overhead counted; `0` turns it off',
    ),
    EnvRow(
        "INBOXQL_RESPONSE_CACHE_USER_BYTES",
        "response_cache_user_bytes",
        integer(1024, 1 << 36),
        "4194304",
        "one user's share of the response cache, in bytes",
        "one user's share of the response cache, in bytes: beyond it a user's own least "
        "recently used answers go, never another user's",
    ),
    EnvRow(
        "INBOXQL_RESPONSE_CACHE_MAX_ANSWER_BYTES",
        "response_cache_max_answer_bytes",
        integer(1024, 1 << 30),
        "262144",
        "larger answers are never kept in the response cache",
        "largest answer body, in bytes, the response cache keeps; larger ones are executed "
        "every time",
    ),
    EnvRow(
        "INBOXQL_INTROSPECTION",
        "introspection",
        BOOLEAN,
        Follows(GRAPHIQL),
        "schema introspection and 'Did you mean' hints",
        'schema introspection and "Did you mean" hints in errors',
    ),
)
