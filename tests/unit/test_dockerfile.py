"""The Dockerfile, read: a build stage with uv's production install, a runtime stage without uv
or compilers that runs as a non-root user, a health check on /healthz, and an entrypoint that
serves in external mode by default and runs a worker when asked. What it installs and whether
the entrypoint really serves is tests/e2e/test_container_install.py's."""

from __future__ import annotations

import fnmatch
import re
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from commands import parse_args
from server import create_app
from services.aws import AwsEndpoints
from services.settings import Settings
from tests.dockerfile import REPO, Instruction, Stage, ignore_patterns, stage, stages
from web import healthcheck

COMPILERS = re.compile(r"\b(gcc|g\+\+|clang|build-essential|make|cc)\b")


@pytest.fixture(scope="module")
def runtime() -> Stage:
    return stages()[-1]


def command_line(runtime: Stage, *command: str) -> list[str]:
    return runtime.last("ENTRYPOINT").exec_form() + (
        list(command) or runtime.last("CMD").exec_form()
    )


def test_the_build_stage_installs_the_lock_without_dev_groups() -> None:
    build = stage("build")
    syncs = [i.arguments for i in build.all("RUN") if "uv sync" in i.arguments]
    assert syncs, "no uv sync in the build stage"
    for sync in syncs:
        assert "--frozen" in sync.split() and "--no-dev" in sync.split(), sync
        assert "--all-groups" not in sync and "--group" not in sync, sync
    assert build.env()["UV_PROJECT_ENVIRONMENT"] == "/app/.venv"


def test_the_runtime_stage_has_no_uv_and_no_compilers(runtime: Stage) -> None:
    assert runtime.name == "runtime"
    # The venv's interpreter is the base image's own: both stages must start from the same one.
    assert runtime.image == stage("build").image
    assert "slim" in runtime.image
    for instruction in runtime.instructions:
        assert "uv" not in instruction.arguments.split(), instruction
        assert not COMPILERS.search(instruction.arguments), instruction
        if instruction.keyword == "COPY":
            assert "--from=build" in instruction.arguments, instruction
    assert "/app/.venv/bin" in runtime.env()["PATH"].split(":")[0]


def test_the_runtime_user_is_not_root(runtime: Stage) -> None:
    user = runtime.last("USER").arguments
    uid = user.split(":")[0]
    assert uid not in {"0", "root"} and uid.isdigit(), user
    # Nothing after the switch runs as root again, and the code it runs is root's, read-only.
    keywords = [i.keyword for i in runtime.instructions]
    assert "RUN" not in keywords[keywords.index("USER") :]
    assert f"--uid {uid}" in " ".join(i.arguments for i in runtime.all("RUN"))
    assert "--chown=root:root" in runtime.last("COPY").arguments


def test_the_health_check_asks_for_healthz_on_the_served_port(runtime: Stage) -> None:
    check = runtime.last("HEALTHCHECK").arguments
    options, _, command = check.partition("CMD ")
    assert command.startswith("["), "exec form: no shell in the check"
    argv = Instruction("CMD", command).exec_form()
    assert argv[:3] == ["python", "-m", "web.healthcheck"]
    assert healthcheck.HEALTH_PATH == "/healthz"
    args = parse_args(command_line(runtime)[2:])
    assert int(argv[3]) == args.port == healthcheck.DEFAULT_PORT
    timeout = re.search(r"--timeout=(\d+)s", options)
    assert timeout is not None and int(timeout.group(1)) > healthcheck.TIMEOUT_SECONDS
    app = create_app(Settings(stack="external", jwt_secret="x"), AwsEndpoints(), workers=0)
    assert healthcheck.HEALTH_PATH in {getattr(route, "path", None) for route in app.routes}


def test_the_default_command_serves_in_external_mode(runtime: Stage) -> None:
    argv = command_line(runtime)
    assert argv[:2] == ["python", "server.py"]
    args = parse_args(argv[2:])
    assert (args.command, args.stack, args.host, args.no_worker) == (
        "serve",
        "external",
        "0.0.0.0",
        False,
    )
    assert runtime.last("EXPOSE").arguments == str(args.port)


def test_asked_for_a_worker_it_runs_one(runtime: Stage) -> None:
    args = parse_args(command_line(runtime, "worker", "--metrics-port", "8000")[2:])
    assert (args.command, args.stack, args.metrics_port) == ("worker", "external", 8000)
    api_only = parse_args(command_line(runtime, "--no-worker", "serve")[2:])
    assert (api_only.command, api_only.no_worker) == ("serve", True)


def test_the_image_environment_gives_external_defaults(runtime: Stage) -> None:
    # The --stack flag applies after the environment is read, so the stack-dependent defaults
    # come from INBOXQL_STACK in the image.
    env = runtime.env()
    settings = Settings.from_env({"INBOXQL_STACK": env["INBOXQL_STACK"], "INBOXQL_JWT_SECRET": "x"})
    assert settings.stack == "external"
    assert not settings.demo and not settings.graphiql and not settings.introspection
    assert settings.allowed_hosts == ("*",)
    assert settings.log_format == "json"


def ignored(path: str, patterns: list[str]) -> bool:
    """Docker's rule: the last pattern that matches a path decides; `!` includes again."""
    verdict = False
    for pattern in patterns:
        negated = pattern.startswith("!")
        bare = pattern.removeprefix("!").removeprefix("**/")
        if fnmatch.fnmatch(path, bare) or fnmatch.fnmatch(Path(path).name, bare):
            verdict = not negated
    return verdict


def test_the_build_context_holds_what_the_build_copies_and_no_more() -> None:
    patterns = ignore_patterns()
    copied = stage("build").copied_sources()
    assert {"pyproject.toml", "uv.lock", "server.py", "services", "web"} <= set(copied)
    for source in copied:
        assert (REPO / source).exists(), source
        assert not ignored(source, patterns), f"{source} is copied but .dockerignore drops it"
    for kept_out in (".venv", ".inboxql", "tests", "bench", ".git", "services/__pycache__"):
        assert ignored(kept_out, patterns), kept_out
    # Every re-included path is one the build copies: the context carries nothing unused.
    assert {p.removeprefix("!") for p in patterns if p.startswith("!")} == set(copied)


@pytest.mark.parametrize(("status", "expected"), [(200, 0), (503, 1)])
def test_healthcheck_exit_status(
    monkeypatch: pytest.MonkeyPatch, status: int, expected: int
) -> None:
    seen: list[str] = []

    class Answer:
        def __init__(self, url: str) -> None:
            seen.append(url)
            self.status = status

        def __enter__(self) -> Answer:
            if self.status >= 400:
                raise urllib.error.URLError("503")
            return self

        def __exit__(self, *_: object) -> None:
            return None

    monkeypatch.setattr(urllib.request, "urlopen", lambda url, timeout: Answer(url))
    assert healthcheck.main(["8123"]) == expected
    assert seen == ["http://127.0.0.1:8123/healthz"]
