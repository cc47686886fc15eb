"""Settings from the environment."""

from __future__ import annotations

from pathlib import Path

import pytest

from services.local.tools import LocalTools
from services.settings import SETTINGS_HELP, Settings, SettingsError

SECRET = "unit-test-secret-with-more-than-thirty-two-bytes"


def test_defaults() -> None:
    settings = Settings.from_env({})
    assert settings == Settings()
    assert settings.stack == "local"
    assert settings.jwt_secret is None
    assert settings.graphiql is True
    assert settings.data_dir == Path(".inboxql")
    assert settings.aws_region == "us-east-1"
    assert (settings.max_receive_count, settings.visibility_timeout_seconds) == (5, 30)
    assert (settings.connect_timeout_seconds, settings.read_timeout_seconds) == (2.0, 5.0)
    assert (settings.aws_max_attempts, settings.worker_concurrency) == (3, 2)
    assert settings.long_poll_seconds == 2
    assert settings.log_format == "text"
    external = Settings.from_env({"INBOXQL_STACK": "external", "INBOXQL_JWT_SECRET": "s" * 40})
    assert external.long_poll_seconds == 10
    assert external.log_format == "json"


EVERY_VARIABLE = {
    "INBOXQL_STACK": "external",
    "INBOXQL_DATA_DIR": "/srv/data",
    "INBOXQL_CACHE_DIR": "/srv/cache",
    "INBOXQL_SQS_EMULATOR": "moto",
    "INBOXQL_JAVA": "/opt/java/bin/java",
    "INBOXQL_NODE": "/opt/node/bin/node",
    "INBOXQL_NPM": "/opt/node/bin/npm",
    "INBOXQL_REDIS_SERVER": "/usr/bin/redis-server",
    "INBOXQL_JWT_SECRET": SECRET,
    "INBOXQL_JWT_LEEWAY_SECONDS": "0",
    "AWS_REGION": "eu-west-1",
    "INBOXQL_TABLE": "t",
    "INBOXQL_QUEUE": "q",
    "INBOXQL_DLQ": "dlq",
    "INBOXQL_MAX_RECEIVE_COUNT": "9",
    "INBOXQL_VISIBILITY_TIMEOUT": "43200",
    "REDIS_URL": "redis://cache:6380/2",
    "INBOXQL_GRAPHIQL": "yes",
    "INBOXQL_DEMO": "on",
    "INBOXQL_CONNECT_TIMEOUT": "0.5",
    "INBOXQL_READ_TIMEOUT": "10",
    "INBOXQL_AWS_MAX_ATTEMPTS": "1",
    "INBOXQL_WORKER_CONCURRENCY": "64",
    "INBOXQL_LONG_POLL_SECONDS": "20",
    "INBOXQL_LOG_FORMAT": "text",
    "INBOXQL_JWKS_URL": "https://idp.example/jwks.json",
    "INBOXQL_JWT_ISSUER": "https://idp.example",
    "INBOXQL_JWT_AUDIENCE": "inboxql",
    "INBOXQL_JWKS_MIN_REFRESH_SECONDS": "5",
    "INBOXQL_REDIS_CLUSTER": "true",
    "INBOXQL_SEND_BATCH_LINGER_MS": "20",
    "INBOXQL_ALLOWED_ORIGINS": "https://a.example, https://b.example",
    "INBOXQL_WS_INIT_TIMEOUT": "3",
    "INBOXQL_WS_PING_INTERVAL": "15",
    "INBOXQL_WS_PONG_TIMEOUT": "7",
    "INBOXQL_WS_MAX_SUBSCRIPTIONS": "9",
    "INBOXQL_WS_MAX_CONNECTIONS_PER_USER": "4",
    "INBOXQL_WS_MAX_MESSAGE_BYTES": "8192",
    "INBOXQL_SEND_RATE_LIMIT": "10",
    "INBOXQL_SEND_RATE_WINDOW_SECONDS": "30",
    "INBOXQL_MAX_BODY_BYTES": "4096",
    "INBOXQL_RESPONSE_CACHE_ENTRIES": "0",
    "INBOXQL_INTROSPECTION": "false",
}


def test_every_variable_is_read() -> None:
    settings = Settings.from_env(EVERY_VARIABLE)
    assert settings == Settings(
        stack="external",
        data_dir=Path("/srv/data"),
        cache_dir=Path("/srv/cache"),
        sqs_emulator="moto",
        local_tools=LocalTools(
            java="/opt/java/bin/java",
            node="/opt/node/bin/node",
            npm="/opt/node/bin/npm",
            redis_server="/usr/bin/redis-server",
        ),
        jwt_secret=SECRET,
        jwt_leeway_seconds=0,
        aws_region="eu-west-1",
        table_name="t",
        queue_name="q",
        dead_letter_queue_name="dlq",
        max_receive_count=9,
        visibility_timeout_seconds=43_200,
        redis_url="redis://cache:6380/2",
        graphiql=True,
        demo=True,
        connect_timeout_seconds=0.5,
        read_timeout_seconds=10.0,
        aws_max_attempts=1,
        worker_concurrency=64,
        long_poll_seconds=20,
        log_format="text",
        jwks_url="https://idp.example/jwks.json",
        jwt_issuer="https://idp.example",
        jwt_audience="inboxql",
        jwks_min_refresh_seconds=5,
        redis_cluster=True,
        send_batch_linger_ms=20,
        allowed_origins=("https://a.example", "https://b.example"),
        ws_init_timeout_seconds=3.0,
        ws_ping_interval_seconds=15.0,
        ws_pong_timeout_seconds=7.0,
        ws_max_subscriptions=9,
        ws_max_connections_per_user=4,
        ws_max_message_bytes=8192,
        send_rate_limit=10,
        send_rate_window_seconds=30,
        max_body_bytes=4096,
        response_cache_entries=0,
        introspection=False,
    )


def test_every_variable_the_help_lists_is_set_above() -> None:
    assert {name for name, _, _ in SETTINGS_HELP} <= set(EVERY_VARIABLE)


def test_region_falls_back_to_aws_default_region() -> None:
    assert Settings.from_env({"AWS_DEFAULT_REGION": "ap-south-1"}).aws_region == "ap-south-1"
    both = {"AWS_DEFAULT_REGION": "ap-south-1", "AWS_REGION": "us-west-2"}
    assert Settings.from_env(both).aws_region == "us-west-2"


def test_external_requires_a_secret() -> None:
    with pytest.raises(SettingsError, match="INBOXQL_JWT_SECRET"):
        Settings.from_env({"INBOXQL_STACK": "external"})
    with pytest.raises(SettingsError, match="INBOXQL_JWT_SECRET"):
        Settings.from_env({"INBOXQL_STACK": "external", "INBOXQL_JWT_SECRET": ""})


def test_external_defaults_graphiql_and_demo_off() -> None:
    settings = Settings.from_env({"INBOXQL_STACK": "external", "INBOXQL_JWT_SECRET": SECRET})
    assert settings.graphiql is False
    assert settings.demo is False
    assert Settings.from_env({}).demo is True
    assert settings.jwt_secret == SECRET


def test_secret_is_not_in_repr() -> None:
    settings = Settings.from_env({"INBOXQL_STACK": "external", "INBOXQL_JWT_SECRET": SECRET})
    assert SECRET not in repr(settings)


def test_empty_secret_in_local_mode_means_generate() -> None:
    assert Settings.from_env({"INBOXQL_JWT_SECRET": ""}).jwt_secret is None


@pytest.mark.parametrize(("raw", "value"), [("true", True), ("ON", True), (" 0 ", False)])
def test_booleans(raw: str, value: bool) -> None:
    assert Settings.from_env({"INBOXQL_GRAPHIQL": raw}).graphiql is value


@pytest.mark.parametrize(
    ("name", "raw"),
    [
        ("INBOXQL_STACK", "aws"),
        ("INBOXQL_STACK", ""),
        ("INBOXQL_GRAPHIQL", "maybe"),
        ("INBOXQL_GRAPHIQL", ""),
        ("INBOXQL_JWT_LEEWAY_SECONDS", "ten"),
        ("INBOXQL_JWT_LEEWAY_SECONDS", "-1"),
        ("INBOXQL_JWT_LEEWAY_SECONDS", "601"),
        ("INBOXQL_MAX_RECEIVE_COUNT", "0"),
        ("INBOXQL_MAX_RECEIVE_COUNT", "1.5"),
        ("INBOXQL_VISIBILITY_TIMEOUT", "43201"),
        ("INBOXQL_VISIBILITY_TIMEOUT", ""),
        ("INBOXQL_CONNECT_TIMEOUT", "0"),
        ("INBOXQL_CONNECT_TIMEOUT", "-1"),
        ("INBOXQL_CONNECT_TIMEOUT", "fast"),
        ("INBOXQL_READ_TIMEOUT", ""),
        ("INBOXQL_AWS_MAX_ATTEMPTS", "11"),
        ("INBOXQL_WORKER_CONCURRENCY", "0"),
        ("INBOXQL_WORKER_CONCURRENCY", "65"),
        ("INBOXQL_LOG_FORMAT", "yaml"),
        ("INBOXQL_LOG_FORMAT", "JSON"),
        ("INBOXQL_LOG_FORMAT", ""),
        ("INBOXQL_SQS_EMULATOR", "elasticmq"),
        ("INBOXQL_SQS_EMULATOR", ""),
    ],
)
def test_bad_values(name: str, raw: str) -> None:
    with pytest.raises(SettingsError, match=name):
        Settings.from_env({name: raw})


@pytest.mark.parametrize("raw", ["nan", "NaN", "-nan"])
def test_timeouts_must_not_be_nan(raw: str) -> None:
    with pytest.raises(SettingsError, match="INBOXQL_READ_TIMEOUT"):
        Settings.from_env({"INBOXQL_READ_TIMEOUT": raw})


def test_with_overrides() -> None:
    base = Settings()
    changed = base.with_overrides(table_name="other", worker_concurrency=5)
    assert (changed.table_name, changed.worker_concurrency) == ("other", 5)
    assert base.table_name == "inboxql"
    assert changed.queue_name == base.queue_name


def test_log_format_is_read_in_local_mode_too() -> None:
    assert Settings.from_env({"INBOXQL_LOG_FORMAT": "json"}).log_format == "json"
