"""Log lines and request ids: the formatters, the id's rules, and the id travelling with a
message from `sendMessage` through the queue payload to the worker and the published events."""

from __future__ import annotations

import json
import logging
import sys
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

import orjson
import pytest

from services.delivery import DeliveryWorker
from services.domain import MessageReceived, UnreadCountChanged
from services.message_codec import (
    decode_event_with_request_id,
    decode_message,
    decode_message_with_request_id,
    encode_event,
    encode_message,
)
from services.observability.log_format import JsonLogFormatter, TextLogFormatter, configure_logging
from services.observability.request_ids import (
    accepted_request_id,
    current_request_id,
    is_request_id,
    request_id_bound,
)
from services.ports import Delivery
from services.sending import SendService
from services.settings import Settings
from services.sqs.consumer import SqsDeliveryConsumer
from services.sqs.producer import SqsDeliveryProducer
from tests.conftest import TEST_JWT_SECRET, client_without_lifespan
from tests.fakes import FakeDeliveryQueue, FakeEventHub, FakeMessageStore
from tests.unit.support import ALICE, BOB, make_message


def record(message: str = "hello %s", *args: object, **extra: Any) -> logging.LogRecord:
    made = logging.LogRecord("inboxql.test", logging.INFO, __file__, 1, message, args, None)
    made.__dict__.update(extra)
    return made


class JsonLines(logging.Handler):
    """Keeps each line as the server would write it, formatted when it is logged."""

    def __init__(self) -> None:
        super().__init__()
        self.setFormatter(JsonLogFormatter())
        self.lines: list[dict[str, Any]] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(json.loads(self.format(record)))


@contextmanager
def json_lines(*names: str) -> Iterator[list[dict[str, Any]]]:
    handler = JsonLines()
    loggers = [logging.getLogger(name) for name in names]
    levels = [logger.level for logger in loggers]
    for logger in loggers:
        logger.addHandler(handler)
        logger.setLevel(logging.INFO)
    try:
        yield handler.lines
    finally:
        for logger, level in zip(loggers, levels, strict=True):
            logger.removeHandler(handler)
            logger.setLevel(level)


# --- the formatters ------------------------------------------------------------------------


def test_a_json_line_is_one_object_with_the_request_id_and_extras() -> None:
    with request_id_bound("req-1"):
        line = JsonLogFormatter().format(record("stored %s", "m1", message_id="m1", receive=2))
    assert "\n" not in line
    entry = json.loads(line)
    assert entry.pop("ts").endswith("+00:00")
    assert entry == {
        "level": "INFO",
        "logger": "inboxql.test",
        "message": "stored m1",
        "request_id": "req-1",
        "message_id": "m1",
        "receive": 2,
    }


def test_an_explicit_request_id_wins_over_the_current_one() -> None:
    # The pub/sub reader logs about other requests' messages: it names their id.
    with request_id_bound("the-reader"):
        entry = json.loads(JsonLogFormatter().format(record(request_id="the-sender")))
    assert entry["request_id"] == "the-sender"


def test_a_line_outside_any_request_has_no_request_id() -> None:
    entry = json.loads(JsonLogFormatter().format(record("idle")))
    assert "request_id" not in entry
    assert entry["message"] == "idle"


def test_a_json_line_carries_the_traceback_and_copes_with_any_extra() -> None:
    try:
        raise ValueError("boom")
    except ValueError:
        failed = record("failed", error=ValueError("x"), color_message="\x1b[31mfailed")
        failed.exc_info = sys.exc_info()
    entry = json.loads(JsonLogFormatter().format(failed))
    assert "ValueError: boom" in entry["exc_info"]
    assert entry["error"] == "x"  # not JSON: written as its str()
    assert "color_message" not in entry  # uvicorn's coloured duplicate


def test_a_text_line_ends_with_the_request_id_before_any_traceback() -> None:
    formatter = TextLogFormatter()
    with request_id_bound("req-7"):
        line = formatter.format(record("sent %s", "m1"))
    assert line.endswith("INFO inboxql.test sent m1 [request_id=req-7]")
    assert formatter.format(record("quiet")).endswith("INFO inboxql.test quiet")
    try:
        raise KeyError("k")
    except KeyError:
        failed = record("failed")
        failed.exc_info = sys.exc_info()
        with request_id_bound("req-8"):
            first, *rest = formatter.format(failed).splitlines()
    assert first.endswith("failed [request_id=req-8]")
    assert "KeyError" in rest[-1]


@pytest.fixture
def root_logging() -> Iterator[logging.Logger]:
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    yield root
    root.handlers[:] = handlers
    root.setLevel(level)


@pytest.mark.parametrize(
    ("choice", "kind"), [("json", JsonLogFormatter), ("text", TextLogFormatter)]
)
def test_configure_logging_installs_the_chosen_format(
    root_logging: logging.Logger, choice: Any, kind: type[logging.Formatter]
) -> None:
    configure_logging(choice)
    assert len(root_logging.handlers) == 1
    assert isinstance(root_logging.handlers[0].formatter, kind)
    assert root_logging.level == logging.INFO


# --- the request id's rules ------------------------------------------------------------------


@pytest.mark.parametrize("good", ["abc", "A-b_c.9", "x" * 64, "0"])
def test_a_sane_client_request_id_is_kept(good: str) -> None:
    assert accepted_request_id(good) == good


@pytest.mark.parametrize("bad", [None, "", "x" * 65, "has space", "new\nline", "caf\u00e9", "a/b"])
def test_anything_else_is_replaced_by_a_new_id(bad: str | None) -> None:
    made = accepted_request_id(bad)
    assert made != bad and is_request_id(made) and len(made) == 32


def test_a_bound_request_id_is_undone_on_the_way_out() -> None:
    assert current_request_id() is None
    with request_id_bound("outer"):
        with request_id_bound("inner"):
            assert current_request_id() == "inner"
        assert current_request_id() == "outer"
    assert current_request_id() is None


# --- the id in payloads ---------------------------------------------------------------------


def test_a_queue_payload_carries_the_request_id() -> None:
    message = make_message(BOB, ALICE, 1)
    payload = encode_message(message, request_id="req-1")
    assert orjson.loads(payload)["rid"] == "req-1"
    assert decode_message_with_request_id(payload) == (message, "req-1")
    assert decode_message(payload) == message


def test_a_payload_from_before_request_ids_still_decodes() -> None:
    message = make_message(BOB, ALICE, 1)
    old = encode_message(message)
    assert "rid" not in orjson.loads(old)
    assert decode_message_with_request_id(old) == (message, None)


@pytest.mark.parametrize("rid", [42, None, "has space", "x" * 65, ["a"]])
def test_a_bad_request_id_in_a_payload_is_dropped_not_the_message(rid: object) -> None:
    message = make_message(BOB, ALICE, 1)
    data = orjson.loads(encode_message(message)) | {"rid": rid}
    assert decode_message_with_request_id(orjson.dumps(data)) == (message, None)


@pytest.mark.parametrize(
    "event", [UnreadCountChanged(ALICE, 2, 9), MessageReceived(make_message(BOB, ALICE, 1))]
)
def test_events_carry_the_request_id_too(event: UnreadCountChanged | MessageReceived) -> None:
    assert decode_event_with_request_id(encode_event(event, request_id="r-2")) == (event, "r-2")
    assert decode_event_with_request_id(encode_event(event)) == (event, None)


class RecordingSqsClient:
    """Just enough of the SQS client for both sides of the delivery queue."""

    def __init__(self) -> None:
        self.bodies: list[str] = []

    async def send_message(self, *, QueueUrl: str, MessageBody: str) -> dict[str, Any]:
        self.bodies.append(MessageBody)
        return {}

    async def receive_message(self, **_: Any) -> dict[str, Any]:
        return {
            "Messages": [
                {"ReceiptHandle": f"r{n}", "Body": body, "Attributes": {}}
                for n, body in enumerate(self.bodies)
            ]
        }


async def test_the_sqs_queue_sends_and_receives_the_current_request_id() -> None:
    client = RecordingSqsClient()
    producer = SqsDeliveryProducer(client, "https://sqs.test/q")
    consumer = SqsDeliveryConsumer(client, "https://sqs.test/q")
    message = make_message(BOB, ALICE, 1)
    with request_id_bound("send-req"):
        await producer.enqueue(message)
    await producer.enqueue(message)  # outside any request
    received = await consumer.receive(max_messages=10, wait_seconds=0)
    assert [(d.message, d.request_id) for d in received] == [
        (message, "send-req"),
        (message, None),
    ]


# --- the id in the services' log lines --------------------------------------------------------


async def test_accepting_a_message_is_logged_under_the_request(sending: SendService) -> None:
    with json_lines("inboxql.inbox") as lines, request_id_bound("send-1"):
        sent = await sending.send_message(BOB, ALICE, "hi")
    assert [(line["message"], line["request_id"], line["message_id"]) for line in lines] == [
        (f"accepted message {sent.id} from bob to alice", "send-1", sent.id)
    ]


def stages(lines: Sequence[dict[str, Any]], message_id: str) -> dict[str, str]:
    """Each log line about `message_id`, by its first word, with its request id."""
    return {
        line["message"].split()[0]: line["request_id"]
        for line in lines
        if line.get("message_id") == message_id
    }


async def test_the_worker_logs_a_delivery_under_the_id_it_was_sent_with(
    store: FakeMessageStore, hub: FakeEventHub
) -> None:
    worker = DeliveryWorker(FakeDeliveryQueue(), store, hub)
    traced, untraced = make_message(BOB, ALICE, 1), make_message(BOB, ALICE, 2)
    with json_lines("inboxql.delivery") as lines:
        await worker.deliver_batch(
            [Delivery("r1", traced, 1, request_id="send-1"), Delivery("r2", untraced, 1)]
        )
    assert stages(lines, traced.id) == {"stored": "send-1", "published": "send-1"}
    # A payload without an id gets one of its own, the same on each of its lines.
    own = stages(lines, untraced.id)
    assert set(own) == {"stored", "published"}
    assert len(set(own.values())) == 1 and is_request_id(own["stored"])
    assert own["stored"] != "send-1"
    assert current_request_id() is None  # nothing leaks out of the worker


# --- the request id middleware ----------------------------------------------------------------


async def test_every_response_echoes_its_request_id() -> None:
    settings = Settings(stack="external", jwt_secret=TEST_JWT_SECRET, graphiql=False, demo=False)
    async with client_without_lifespan(settings) as client:
        chosen = await client.get("/healthz", headers={"X-Request-Id": "trace-me.1"})
        insane = await client.get("/healthz", headers={"X-Request-Id": "no spaces please"})
        absent = await client.get("/healthz")
    assert chosen.headers["X-Request-Id"] == "trace-me.1"
    for response in (insane, absent):
        assert response.status_code == 200
        assert is_request_id(response.headers["X-Request-Id"])
        assert len(response.headers["X-Request-Id"]) == 32
    assert insane.headers["X-Request-Id"] != absent.headers["X-Request-Id"]
