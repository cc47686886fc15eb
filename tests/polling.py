"""Waiting for a condition the test can only observe, not be told about: another process, a
queue's counts, a log file. One helper for every such poll, so each bound is a visible
argument and every timeout fails with the same kind of message."""

from __future__ import annotations

import asyncio
import inspect
import time
from collections.abc import Awaitable, Callable

# What a timed-out poll reports: a fixed description, or a callable read at the deadline so the
# message can show the last state the check saw (a queue's counts, a log tail).
What = str | Callable[[], str]


def _timed_out(timeout: float, what: What) -> AssertionError:
    described = what() if callable(what) else what
    # An AssertionError, as a failed `assert` would be, but raised: it survives `python -O`.
    return AssertionError(f"timed out after {timeout} s waiting for {described}")


async def eventually(
    check: Callable[[], Awaitable[bool]] | Callable[[], bool],
    what: What,
    *,
    # A parameter, not `asyncio.timeout`: the bound shows at the call site, next to what it waits
    # for, and a miss says what was awaited rather than raising a bare TimeoutError.
    timeout: float = 10.0,  # noqa: ASYNC109
    interval: float = 0.05,
) -> None:
    """Poll `check` (sync or async) until it returns truthy; fail after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        result = check()
        if inspect.isawaitable(result):
            result = await result
        if result:
            return
        # Checked after the condition, so a check that only turns true on the last try passes.
        if time.monotonic() >= deadline:
            raise _timed_out(timeout, what)
        await asyncio.sleep(interval)  # pacing the poll; the deadline bounds it


def wait_until(
    check: Callable[[], bool],
    what: What,
    *,
    timeout: float = 10.0,
    interval: float = 0.05,
) -> None:
    """`eventually` for sync tests and fixtures (processes, files): blocks the thread."""
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() >= deadline:
            raise _timed_out(timeout, what)
        time.sleep(interval)  # pacing the poll; the deadline bounds it
