"""What the model assumes rather than measures: what an average user does a day
(`UsageProfile`) and how InboxQL is deployed (`Assumptions`). The defaults are stated there."""

from __future__ import annotations

from dataclasses import dataclass, field

from services.cost.capacity_mode import AutoScaling
from services.cost.load_curve import DEFAULT_DAILY_LOAD_CURVE
from services.cost.units import HOURS_PER_MONTH

CAPACITY_MODES = ("on-demand", "provisioned")
TABLE_CLASSES = ("STANDARD", "STANDARD_INFREQUENT_ACCESS")


@dataclass(frozen=True)
class UsageProfile:
    """What one average user does a day. Every figure is an assumption: change it to match."""

    # Messages each user sends a day (so, on average, also receives).
    sends_per_day: float = 20.0
    # `messages(first: 20)` pages read, with bodies.
    inbox_pages_per_day: float = 10.0
    # Share of a page's bodies already in the Valkey cache (bodies stay 24 h once read).
    body_cache_hit_ratio: float = 0.8
    # Share of inbox pages answered by the response cache: only a read with no change to the
    # inbox since the last one hits, and a chat user receives and reads all day.
    inbox_page_response_cache_hit_ratio: float = 0.25
    # `message(id)` opens (a cold open also reads the body from DynamoDB).
    message_opens_per_day: float = 5.0
    # `conversation(withUserId, first: 20)` pages.
    conversation_pages_per_day: float = 3.0
    # `conversations(first: 20)` pages: the chat list, read each time the app comes up.
    conversation_list_pages_per_day: float = 8.0
    # `changes(since)` calls: a client catching up after a reconnect or coming to the front
    # (`inboxEvents(sinceVersion)` replays the same way). Priced as full pages of 100.
    changes_calls_per_day: float = 10.0
    # `markRead` calls, one id each (opening an unread message).
    mark_reads_per_day: float = 10.0
    # `markAllRead` calls, and how many unread messages each one marks.
    mark_all_reads_per_day: float = 0.5
    mark_all_read_size: float = 20.0
    # `unreadCount` / `me { unreadCount }` queries over HTTP.
    unread_count_queries_per_day: float = 10.0
    # Sessions a day that open the two subscriptions (unreadCount, messageReceived).
    live_sessions_per_day: float = 3.0
    # `setTyping` calls: a client calls every 2 s or so while its user types, a few per message
    # sent; the 3 s gate pushes about every other one (the rest only ask Redis).
    typing_calls_per_day: float = 40.0
    typing_pushed_share: float = 0.5
    # Hours a day a user has a live WebSocket open (pushes and held connections).
    live_connection_hours_per_day: float = 2.0
    # Average message body, in characters (ASCII); the bench measured 200 and 5,000.
    average_body_chars: float = 200.0
    # Share of sends that carry a clientMessageId (one conditional put each).
    client_message_id_share: float = 1.0
    # How long the service has been running: storage holds that many days of messages, less
    # the read ones a retention expires (`Assumptions.retention_days`; without one, nothing
    # deletes messages, so this is also how long they are kept).
    history_days: float = 365.0
    # Share of stored messages still unread (they keep an entry in the `unread` index).
    unread_share: float = 0.1
    # Share of messages their recipient ever reads (opens, or marks read with markRead,
    # markAllRead or markConversationRead). The rest stay unread, and a retention never
    # expires them. 0.9 matches `unread_share`: after a year, nearly all unread messages are
    # the never-read ones.
    read_share: float = 0.9
    # The share of a day's traffic in each hour (services/cost/load_curve.py says what the
    # default is); provisioned capacity follows it, on-demand does not care.
    daily_load_curve: tuple[float, ...] = DEFAULT_DAILY_LOAD_CURVE


@dataclass(frozen=True)
class Assumptions:
    """How InboxQL is deployed (deploy/inboxql.yaml where it says; the rest stated here)."""

    # The delivery worker as a Lambda function (the template's default memory, x86_64).
    lambda_memory_mb: float = 256.0
    # An invocation's duration is its CPU, measured per delivery (services/cost/cpu.py), plus
    # this wait: the batch's messages are delivered concurrently, each a BatchGetItem, a
    # transaction, an UpdateItem and a PUBLISH (~4 round trips of ~5 ms on AWS), so their waits
    # overlap. An assumption: the local stack's round trips are not AWS's.
    lambda_wait_seconds_per_invocation: float = 0.02
    # Lambda gives a function CPU in proportion to its memory: one vCPU at 1,769 MB (AWS's
    # Lambda documentation, "Configure Lambda function memory").
    lambda_mb_per_vcpu: float = 1769.0
    # The event source mapping waits this long to fill a batch, so batches are smaller than
    # 10 when traffic is light: batch = clamp(messages per second x window, 1, 10).
    lambda_batch_window_seconds: float = 1.0
    # The event source mapping long-polls even an idle queue: 5 pollers, one 20 s poll each.
    sqs_idle_receives_per_month: float = 5 * 3 * 60 * HOURS_PER_MONTH
    # API tasks on Fargate: 1 vCPU, 2 GB each, at least two (two AZs).
    api_task_vcpu: float = 1.0
    api_task_gb: float = 2.0
    api_min_tasks: int = 2
    # Live WebSockets one task holds (memory: ~40 KB each idle, bench target 4).
    connections_per_task: float = 5000.0
    # The share of a task's vCPU that requests and idle sockets may use at the peak hour, the
    # rest headroom for bursts and the event loop's latency. The CPU they need is measured
    # (services/cost/cpu.py), on the assumption that a Fargate vCPU does what one core of the
    # bench machine does.
    api_target_cpu_utilisation: float = 0.6
    # Peak hour over the average hour, for sizing tasks: above the daily load curve's busiest
    # hour (1.92x), since tasks also take the bursts inside that hour and scale out in minutes.
    peak_to_average: float = 3.0
    # One ALB in front of the API.
    load_balancers: int = 1
    # Interface endpoint for SQS in each AZ (the Lambda worker and tasks run in the VPC to
    # reach Valkey; DynamoDB's gateway endpoint is free).
    availability_zones: int = 2
    # Bytes the client receives, besides bodies: per message in a list, per response (GraphQL
    # envelope, HTTP headers, TLS), and per pushed event.
    response_bytes_per_listed_message: float = 260.0
    response_overhead_bytes: float = 600.0
    push_overhead_bytes: float = 250.0
    # Bytes a cached body takes in Valkey besides the body (JSON fields, key, entry overhead).
    cache_bytes_per_message_excluding_body: float = 250.0
    # Point-in-time recovery, as the template enables it.
    point_in_time_recovery: bool = True
    # DynamoDB as the template's CapacityMode and TableClass parameters set it (their
    # defaults: on-demand, STANDARD), and the auto-scaling of provisioned capacity.
    dynamodb_capacity_mode: str = "on-demand"
    dynamodb_table_class: str = "STANDARD"
    autoscaling: AutoScaling = field(default_factory=AutoScaling)
    # Read messages older than this many days expire (the service's retention setting);
    # None keeps every message.
    retention_days: float | None = None
    # What setting a read message's expiry costs under a retention, measured on DynamoDB
    # Local by tests/integration/test_retention_items.py: markRead writes the expiry on the
    # entry and the message item in its transaction (+8 WU a message); a message read by a
    # horizon (markAllRead, markConversationRead) gets it from the walk after the call (8 WU
    # and ~1.4 RU a message). Without a retention neither is written.
    retention_write_units_per_read_message: float = 8.0
    retention_read_units_per_horizon_message: float = 1.4

    def __post_init__(self) -> None:
        if self.dynamodb_capacity_mode not in CAPACITY_MODES:
            raise ValueError(f"dynamodb_capacity_mode is one of {', '.join(CAPACITY_MODES)}")
        if self.dynamodb_table_class not in TABLE_CLASSES:
            raise ValueError(f"dynamodb_table_class is one of {', '.join(TABLE_CLASSES)}")
        if self.retention_days is not None and self.retention_days < 0:
            raise ValueError("retention_days must be >= 0")
