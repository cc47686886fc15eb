"""The one definition of InboxQL's queues: the delivery queue and its dead-letter queue. The local
stack and the tests create them from here; production creates the same shapes ahead of time."""

from __future__ import annotations

from typing import Any

# SQS's longest: a message that keeps failing waits in the DLQ as long as it can for a redrive.
RETENTION_SECONDS = 14 * 24 * 3600


async def ensure_queues(
    client: Any,
    queue_name: str,
    dead_letter_queue_name: str,
    *,
    max_receive_count: int,
    visibility_timeout_seconds: int,
) -> str:
    """Create the delivery queue and its dead-letter queue; return the delivery queue's URL."""
    retention = {"MessageRetentionPeriod": str(RETENTION_SECONDS)}
    dlq_url = (await client.create_queue(QueueName=dead_letter_queue_name, Attributes=retention))[
        "QueueUrl"
    ]
    dlq_arn = (await client.get_queue_attributes(QueueUrl=dlq_url, AttributeNames=["QueueArn"]))[
        "Attributes"
    ]["QueueArn"]
    redrive = f'{{"deadLetterTargetArn":"{dlq_arn}","maxReceiveCount":"{max_receive_count}"}}'
    response = await client.create_queue(
        QueueName=queue_name,
        Attributes={
            "VisibilityTimeout": str(visibility_timeout_seconds),
            "RedrivePolicy": redrive,
            "MessageRetentionPeriod": str(RETENTION_SECONDS),
        },
    )
    return str(response["QueueUrl"])
