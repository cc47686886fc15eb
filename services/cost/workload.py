"""What one user's traffic costs a day, before prices: each operation's calls and measured
cost, the requests the API serves and the bytes clients receive."""

from __future__ import annotations

from services.cost.assumptions import Assumptions, UsageProfile
from services.cost.profile import Measurements, OperationCost

PAGE_SIZE = 20  # what clients ask for: `first` defaults to 20
# One EVALSHA of a fixed-window limit (services/redis/rate_limit.py): a few dozen bytes each
# way, so one ECPU by bench/meter.py's rule. The measured profile runs the services without
# the limits, so they are added here: the read limit once per operation, the send limit once
# more per send.
LIMIT_CHECK = OperationCost(redis_ecpus=1.0)


def send_cost(m: Measurements, usage: UsageProfile, batch: float) -> OperationCost:
    """One message sent and delivered: the API part, the worker part with SQS receives and
    deletes spread over `batch` messages, interpolated between the two body sizes measured,
    plus a clientMessageId reservation for the share of sends that carry one."""
    span = m.measured_large_body_chars - m.measured_body_chars
    large = min(1.0, max(0.0, (usage.average_body_chars - m.measured_body_chars) / span))
    api = m.op("send_api").scaled(1 - large).plus(m.op("send_5000_api").scaled(large))
    worker = m.op("send_worker").scaled(1 - large).plus(m.op("send_5000_worker").scaled(large))
    # Measured with full batches; receive and delete requests grow as batches shrink.
    worker_sqs = worker.sqs_requests * m.worker_batch_size / batch
    worker = OperationCost(
        worker.read_units,
        worker.write_units,
        worker_sqs,
        worker.redis_ecpus,
        worker.redis_push_ecpus,
    )
    reservation = m.op("send_idempotent_api").write_units - m.op("send_api").write_units
    api = api.plus(OperationCost(write_units=reservation * usage.client_message_id_share))
    return api.plus(worker)


def typing_cost(m: Measurements, usage: UsageProfile, online: float) -> OperationCost:
    pushed = m.op("set_typing")
    pushed = OperationCost(
        redis_ecpus=pushed.redis_ecpus, redis_push_ecpus=pushed.redis_push_ecpus * online
    )
    throttled = m.op("set_typing_throttled")
    return mixed(pushed, throttled, usage.typing_pushed_share).plus(LIMIT_CHECK)


def mixed(hot: OperationCost, cold: OperationCost, hit_ratio: float) -> OperationCost:
    return hot.scaled(hit_ratio).plus(cold.scaled(1 - hit_ratio))


def daily_operations(
    m: Measurements, usage: UsageProfile, batch: float
) -> dict[str, tuple[float, OperationCost]]:
    """Each kind of operation: (calls per user per day, cost of one call)."""
    hit = usage.body_cache_hit_ratio
    online = min(1.0, usage.live_connection_hours_per_day / 24)
    send = send_cost(m, usage, batch)
    # Pub/sub pushes only reach recipients who are online.
    send = OperationCost(
        send.read_units,
        send.write_units,
        send.sqs_requests,
        send.redis_ecpus,
        send.redis_push_ecpus * online,
    )
    subscribe = m.op("subscribe_unread_count")
    # messageReceived subscribes too: the same Redis commands, no DynamoDB read.
    session = subscribe.plus(OperationCost(redis_ecpus=subscribe.redis_ecpus))
    operations = {
        "send": (usage.sends_per_day, send.plus(LIMIT_CHECK)),
        "inbox page": (
            usage.inbox_pages_per_day,
            mixed(m.op("inbox_page_hot"), m.op("inbox_page_cold"), hit),
        ),
        "message open": (
            usage.message_opens_per_day,
            mixed(m.op("message"), m.op("message_cold"), hit),
        ),
        "conversation page": (usage.conversation_pages_per_day, m.op("conversation_page")),
        "conversation list": (
            usage.conversation_list_pages_per_day,
            mixed(m.op("conversations_page_hot"), m.op("conversations_page_cold"), hit),
        ),
        "changes": (usage.changes_calls_per_day, m.op("changes_page")),
        "markRead": (usage.mark_reads_per_day, m.op("mark_read_1")),
        "markAllRead": (
            usage.mark_all_reads_per_day,
            m.op("mark_all_read_50").scaled(usage.mark_all_read_size / 50),
        ),
        "unreadCount": (usage.unread_count_queries_per_day, m.op("unread_count")),
        # Two subscribes, each counted by the read limit.
        "live session": (usage.live_sessions_per_day, session.plus(LIMIT_CHECK)),
        # Counted by the typing limit too. A push reaches an online reader only.
        "setTyping": (usage.typing_calls_per_day, typing_cost(m, usage, online)),
    }
    return {name: (calls, cost.plus(LIMIT_CHECK)) for name, (calls, cost) in operations.items()}


def worker_batch_size(users: int, usage: UsageProfile, a: Assumptions, limit: int) -> float:
    per_second = users * usage.sends_per_day / 86_400
    return min(float(limit), max(1.0, per_second * a.lambda_batch_window_seconds))


def response_bytes_per_day(usage: UsageProfile, a: Assumptions) -> float:
    """Bytes one user's clients receive a day: responses and pushed events."""
    body = usage.average_body_chars
    listed = PAGE_SIZE * (body + a.response_bytes_per_listed_message)
    requests = (
        usage.sends_per_day * (body + a.response_overhead_bytes)
        + (
            usage.inbox_pages_per_day
            + usage.conversation_pages_per_day
            + usage.conversation_list_pages_per_day
        )
        * (listed + a.response_overhead_bytes)
        # A page of changes: up to 100 events, most of them small (a received one carries its
        # message); priced as a page of 20 messages, like the lists.
        + usage.changes_calls_per_day * (listed + a.response_overhead_bytes)
        + usage.message_opens_per_day * (body + a.response_overhead_bytes)
        + usage.mark_reads_per_day
        * (a.response_bytes_per_listed_message + a.response_overhead_bytes)
        + usage.mark_all_reads_per_day
        * (
            usage.mark_all_read_size * a.response_bytes_per_listed_message
            + a.response_overhead_bytes
        )
        + usage.unread_count_queries_per_day * a.response_overhead_bytes
        # setTyping answers a bare Boolean.
        + usage.typing_calls_per_day * a.response_overhead_bytes
    )
    online = min(1.0, usage.live_connection_hours_per_day / 24)
    # Each received message pushes messageReceived and an unreadCount to an online user; each
    # markRead/markAllRead pushes an unreadCount to the reader and a receipt to the sender
    # (counted once: one sender per read, the usual case); a typing push is one small event.
    pushes = (
        usage.sends_per_day * online * (body + 2 * a.push_overhead_bytes)
        + (usage.mark_reads_per_day + usage.mark_all_reads_per_day)
        * online
        * 2
        * a.push_overhead_bytes
        + usage.typing_calls_per_day * usage.typing_pushed_share * online * a.push_overhead_bytes
    )
    return requests + pushes


def requests_per_day(usage: UsageProfile) -> float:
    return (
        usage.sends_per_day
        + usage.inbox_pages_per_day
        + usage.message_opens_per_day
        + usage.conversation_pages_per_day
        + usage.conversation_list_pages_per_day
        + usage.changes_calls_per_day
        + usage.mark_reads_per_day
        + usage.mark_all_reads_per_day
        + usage.unread_count_queries_per_day
        + usage.typing_calls_per_day
    )
