"""Settings from the environment."""

from __future__ import annotations

import dataclasses
import re
from pathlib import Path

import pytest

from services.local.tools import LocalTools
from services.settings import SETTINGS_HELP, Settings, SettingsError, settings_table_markdown
from services.settings.rows import ToolRow
from services.settings.variables import ENV_ROWS, ROWS

ROOT = Path(__file__).resolve().parents[2]

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
    "INBOXQL_RETENTION_DAYS": "30",
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
    "INBOXQL_ALLOWED_HOSTS": "API.example.com, ::1",
    "INBOXQL_ALLOWED_ORIGINS": "https://a.example, https://b.example",
    "INBOXQL_WS_INIT_TIMEOUT": "3",
    "INBOXQL_WS_PING_INTERVAL": "15",
    "INBOXQL_WS_PONG_TIMEOUT": "7",
    "INBOXQL_WS_MAX_SUBSCRIPTIONS": "9",
    "INBOXQL_WS_MAX_CONNECTIONS_PER_USER": "4",
    "INBOXQL_WS_MAX_MESSAGE_BYTES": "8192",
    "INBOXQL_SEND_RATE_LIMIT": "10",
    "INBOXQL_SEND_RATE_WINDOW_SECONDS": "30",
    "INBOXQL_TYPING_RATE_LIMIT": "12",
    "INBOXQL_HEADER_TIMEOUT": "4",
    "INBOXQL_BODY_TIMEOUT": "6",
    "INBOXQL_KEEP_ALIVE_TIMEOUT": "70",
    "INBOXQL_MAX_CONNECTIONS": "500",
    "INBOXQL_READ_RATE_LIMIT": "600",
    "INBOXQL_READ_RATE_WINDOW_SECONDS": "20",
    "INBOXQL_MAX_MESSAGE_NODES": "300",
    "INBOXQL_PERSISTED_QUERY_QUOTA": "50",
    "INBOXQL_PERSISTED_QUERY_TOTAL_QUOTA": "5000",
    "INBOXQL_MAX_BODY_BYTES": "4096",
    "INBOXQL_RESPONSE_CACHE_BYTES": "0",
    "INBOXQL_RESPONSE_CACHE_USER_BYTES": "4096",
    "INBOXQL_RESPONSE_CACHE_MAX_ANSWER_BYTES": "2048",
    "INBOXQL_INTROSPECTION": "false",
    "OTEL_TRACES_EXPORTER": "console",
    "OTEL_SDK_DISABLED": "true",
    # Read by the OpenTelemetry SDK itself, when tracing is on: no field of their own.
    "OTEL_SERVICE_NAME": "inboxql-eu",
    "OTEL_RESOURCE_ATTRIBUTES": "deployment.environment=prod",
    "OTEL_EXPORTER_OTLP_ENDPOINT": "http://collector:4318",
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
        retention_days=30,
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
        allowed_hosts=("api.example.com", "::1"),
        allowed_origins=("https://a.example", "https://b.example"),
        ws_init_timeout_seconds=3.0,
        ws_ping_interval_seconds=15.0,
        ws_pong_timeout_seconds=7.0,
        ws_max_subscriptions=9,
        ws_max_connections_per_user=4,
        ws_max_message_bytes=8192,
        send_rate_limit=10,
        send_rate_window_seconds=30,
        typing_rate_limit=12,
        header_timeout_seconds=4.0,
        body_timeout_seconds=6.0,
        keep_alive_timeout_seconds=70,
        max_connections=500,
        read_rate_limit=600,
        read_rate_window_seconds=20,
        max_message_nodes=300,
        persisted_query_quota=50,
        persisted_query_total_quota=5000,
        max_body_bytes=4096,
        response_cache_bytes=0,
        response_cache_user_bytes=4096,
        response_cache_max_answer_bytes=2048,
        introspection=False,
        traces_exporter="console",
        otel_sdk_disabled=True,
    )


def test_every_variable_the_help_lists_is_set_above() -> None:
    assert {name for name, _, _ in SETTINGS_HELP} <= set(EVERY_VARIABLE)


@pytest.mark.parametrize(
    ("environ", "on"),
    [
        ({}, False),
        ({"OTEL_TRACES_EXPORTER": "none"}, False),
        ({"OTEL_TRACES_EXPORTER": "otlp"}, True),
        ({"OTEL_TRACES_EXPORTER": "console"}, True),
        ({"OTEL_TRACES_EXPORTER": "otlp", "OTEL_SDK_DISABLED": "true"}, False),
        # The endpoint alone is not the switch: naming the exporter is.
        ({"OTEL_EXPORTER_OTLP_ENDPOINT": "http://collector:4318"}, False),
    ],
)
def test_tracing_is_on_only_when_an_exporter_is_named(environ: dict[str, str], on: bool) -> None:
    assert Settings.from_env(environ).tracing is on


def test_an_unknown_traces_exporter_is_refused() -> None:
    # This build ships the OTLP/HTTP exporter only: `zipkin` or `jaeger` would silently trace
    # nothing.
    with pytest.raises(SettingsError, match="OTEL_TRACES_EXPORTER"):
        Settings.from_env({"OTEL_TRACES_EXPORTER": "zipkin"})


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
        ("INBOXQL_RETENTION_DAYS", "0"),
        ("INBOXQL_RETENTION_DAYS", "-3"),
        ("INBOXQL_RETENTION_DAYS", "1.5"),
        ("INBOXQL_RETENTION_DAYS", "30d"),
        ("INBOXQL_RETENTION_DAYS", "3651"),
        ("INBOXQL_RETENTION_DAYS", "never"),
    ],
)
def test_bad_values(name: str, raw: str) -> None:
    with pytest.raises(SettingsError, match=name):
        Settings.from_env({name: raw})


@pytest.mark.parametrize("raw", ["nan", "NaN", "-nan"])
def test_timeouts_must_not_be_nan(raw: str) -> None:
    with pytest.raises(SettingsError, match="INBOXQL_READ_TIMEOUT"):
        Settings.from_env({"INBOXQL_READ_TIMEOUT": raw})


@pytest.mark.parametrize(("raw", "days"), [("off", None), ("OFF", None), ("", None), ("7", 7)])
def test_retention_is_off_by_default_or_days(raw: str, days: int | None) -> None:
    assert Settings().retention_days is None
    assert Settings.from_env({"INBOXQL_RETENTION_DAYS": raw}).retention_days == days


def test_with_overrides() -> None:
    base = Settings()
    changed = base.with_overrides(table_name="other", worker_concurrency=5)
    assert (changed.table_name, changed.worker_concurrency) == ("other", 5)
    assert base.table_name == "inboxql"
    assert changed.queue_name == base.queue_name


def test_log_format_is_read_in_local_mode_too() -> None:
    assert Settings.from_env({"INBOXQL_LOG_FORMAT": "json"}).log_format == "json"


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"INBOXQL_STACK": "aws"}, "INBOXQL_STACK must be 'local' or 'external', got 'aws'"),
        ({"INBOXQL_LOG_FORMAT": "JSON"}, "INBOXQL_LOG_FORMAT must be 'json' or 'text', got 'JSON'"),
        (
            {"INBOXQL_SQS_EMULATOR": "sqs"},
            "INBOXQL_SQS_EMULATOR must be 'fauxqs' or 'moto', got 'sqs'",
        ),
        ({"INBOXQL_DEMO": "maybe"}, "INBOXQL_DEMO must be a boolean (true/false), got 'maybe'"),
        (
            {"INBOXQL_INTROSPECTION": "2"},
            "INBOXQL_INTROSPECTION must be a boolean (true/false), got '2'",
        ),
        (
            {"INBOXQL_QUEUE": "q", "INBOXQL_AWS_MAX_ATTEMPTS": "x"},
            "INBOXQL_AWS_MAX_ATTEMPTS must be an integer, got 'x'",
        ),
        (
            {"INBOXQL_JWT_LEEWAY_SECONDS": "601"},
            "INBOXQL_JWT_LEEWAY_SECONDS must be between 0 and 600, got 601",
        ),
        ({"INBOXQL_READ_TIMEOUT": "soon"}, "INBOXQL_READ_TIMEOUT must be a number, got 'soon'"),
        (
            {"INBOXQL_RETENTION_DAYS": "30d"},
            "INBOXQL_RETENTION_DAYS must be `off` or a whole number of days, got '30d'",
        ),
        (
            {"INBOXQL_RETENTION_DAYS": "0"},
            "INBOXQL_RETENTION_DAYS must be `off` or 1 to 3,650 days, got 0",
        ),
        (
            {"INBOXQL_WS_PING_INTERVAL": "-1"},
            "INBOXQL_WS_PING_INTERVAL must be a positive number, got '-1'",
        ),
        (
            {"INBOXQL_ALLOWED_ORIGINS": "https://a.example, a.example"},
            "INBOXQL_ALLOWED_ORIGINS: 'a.example' is not an origin like https://app.example.com",
        ),
        # The stack is read first, and the log format before the rest.
        (
            {"INBOXQL_JWT_LEEWAY_SECONDS": "x", "INBOXQL_LOG_FORMAT": "x", "INBOXQL_STACK": "x"},
            "INBOXQL_STACK must be",
        ),
        ({"INBOXQL_JWT_LEEWAY_SECONDS": "x", "INBOXQL_LOG_FORMAT": "x"}, "INBOXQL_LOG_FORMAT must"),
    ],
)
def test_error_messages(env: dict[str, str], message: str) -> None:
    with pytest.raises(SettingsError, match="^" + re.escape(message)):
        Settings.from_env(env)


def test_introspection_follows_graphiql_while_unset_or_empty() -> None:
    external = {"INBOXQL_STACK": "external", "INBOXQL_JWT_SECRET": SECRET}
    assert Settings.from_env(external).introspection is False
    assert Settings.from_env({**external, "INBOXQL_GRAPHIQL": "on"}).introspection is True
    assert (
        Settings.from_env({"INBOXQL_GRAPHIQL": "off", "INBOXQL_INTROSPECTION": ""}).introspection
        is False
    )
    assert (
        Settings.from_env({"INBOXQL_GRAPHIQL": "off", "INBOXQL_INTROSPECTION": "on"}).introspection
        is True
    )


def test_the_cache_dir_default_is_under_home_when_settings_are_made(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("HOME", str(tmp_path))
    assert Settings().cache_dir == tmp_path / ".cache" / "inboxql"
    assert Settings.from_env({}).cache_dir == tmp_path / ".cache" / "inboxql"


def test_each_field_is_filled_by_one_row() -> None:
    filled = [row.field for row in ENV_ROWS]
    assert len(set(filled)) == len(filled)
    names = [name for row in ROWS for name in row.names]
    assert len(set(names)) == len(names)
    # local_tools comes from LocalTools.from_env; the body cache's lifetime is no variable.
    unread = {"local_tools", "body_cache_ttl_seconds"}
    assert set(filled) == {field.name for field in dataclasses.fields(Settings)} - unread


def test_field_defaults_are_their_rows_defaults() -> None:
    defaults = Settings()
    for row in ENV_ROWS:
        assert getattr(defaults, row.field) == row.default_value(), row.env


def test_the_tool_rows_are_the_variables_local_tools_reads() -> None:
    names = [row.env for row in ROWS if isinstance(row, ToolRow)]
    tools = LocalTools.from_env({name: f"/opt/{name}" for name in names})
    assert sorted(dataclasses.astuple(tools)) == sorted(f"/opt/{name}" for name in names)


def test_the_secret_row_is_kept_out_of_repr() -> None:
    hidden = {field.name for field in dataclasses.fields(Settings) if not field.repr}
    assert hidden == {row.field for row in ENV_ROWS if row.secret} == {"jwt_secret"}


def test_the_readme_settings_table_is_the_declared_one() -> None:
    readme = (ROOT / "README.md").read_text()
    _, start, rest = readme.partition("<!-- settings table:")
    _, _, rest = rest.partition("-->")
    table, end, _ = rest.partition("<!-- end of settings table -->")
    assert start and end, "README.md has lost the settings table's markers"
    assert table.strip() == settings_table_markdown().strip(), (
        "README.md's settings table is not services/settings/variables.py's; replace it with "
        "the output of: uv run python -c "
        "'from services.settings import settings_table_markdown as t; print(t())'"
    )
