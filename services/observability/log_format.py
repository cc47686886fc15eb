"""Log lines: JSON objects (one a line, for log pipelines) or plain text (for people), both
carrying the request id of the work being logged."""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from typing import Any

import orjson

from services.observability.request_ids import current_request_id
from services.settings import LogFormat

TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s %(message)s"

# Attributes every LogRecord has; anything else on a record came from `extra=`. uvicorn adds
# `color_message`, a duplicate of the message with terminal colours.
_RECORD_ATTRIBUTES = frozenset(vars(logging.makeLogRecord({}))) | {
    "message",
    "asctime",
    "request_id",
    "color_message",
}


def request_id_of(record: logging.LogRecord) -> str | None:
    """An explicit `extra={"request_id": ...}` (a line about someone else's message), else the
    id of the work in progress."""
    explicit = getattr(record, "request_id", None)
    return explicit if isinstance(explicit, str) else current_request_id()


class JsonLogFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        request_id = request_id_of(record)
        if request_id is not None:
            entry["request_id"] = request_id
        for key, value in vars(record).items():
            if key not in _RECORD_ATTRIBUTES:
                entry.setdefault(key, value)
        if record.exc_info:
            entry["exc_info"] = self.formatException(record.exc_info)
        if record.stack_info:
            entry["stack_info"] = self.formatStack(record.stack_info)
        return orjson.dumps(entry, default=str).decode()


class TextLogFormatter(logging.Formatter):
    def __init__(self) -> None:
        super().__init__(TEXT_FORMAT)

    def formatMessage(self, record: logging.LogRecord) -> str:
        # The first line only: a traceback, when there is one, follows the id.
        line = super().formatMessage(record)
        request_id = request_id_of(record)
        return line if request_id is None else f"{line} [request_id={request_id}]"


def configure_logging(log_format: LogFormat, level: int = logging.INFO) -> None:
    """One handler on the root logger, on stderr, replacing any earlier one."""
    handler = logging.StreamHandler()
    handler.setFormatter(JsonLogFormatter() if log_format == "json" else TextLogFormatter())
    logging.basicConfig(level=level, handlers=[handler], force=True)
