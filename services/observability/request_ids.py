"""The request id: one token per HTTP request or WebSocket operation, carried with a message
through the queue and pub/sub so every log line about it, in any process, can be found by it.

It lives in a context variable, so code that logs never has to pass it along: asyncio copies
the context into each task it starts, and `logging` reads it when a line is written.
"""

from __future__ import annotations

import contextlib
import os
import re
from collections.abc import Iterator
from contextvars import ContextVar

REQUEST_ID_HEADER = "X-Request-Id"
# What a client may choose: short, and safe in a header, a log line or a queue payload.
_CLIENT_REQUEST_ID = re.compile(r"[A-Za-z0-9._-]{1,64}")

_request_id: ContextVar[str | None] = ContextVar("inboxql_request_id", default=None)


def is_request_id(raw: object) -> bool:
    return isinstance(raw, str) and _CLIENT_REQUEST_ID.fullmatch(raw) is not None


def new_request_id() -> str:
    # 128 random bits as 32 hex digits, as uuid4().hex reads, without building a UUID object.
    return os.urandom(16).hex()


def accepted_request_id(raw: str | None) -> str:
    """The client's id when it is a sane token, else a new one."""
    return raw if raw is not None and is_request_id(raw) else new_request_id()


def current_request_id() -> str | None:
    return _request_id.get()


def bind_request_id(request_id: str | None) -> None:
    """For the rest of the current task (a task owns a copy of the context, so this never
    leaks into the task that started it)."""
    _request_id.set(request_id)


@contextlib.contextmanager
def request_id_bound(request_id: str | None) -> Iterator[None]:
    token = _request_id.set(request_id)
    try:
        yield
    finally:
        _request_id.reset(token)
