"""The adapters for a feature switched off: they obey their ports and do nothing."""

from __future__ import annotations

from typing import Final

from services.domain import UserId
from services.errors import RateLimited
from services.ports import DeliveryOutcome, DeliveryStage, QueueName, RoundOutcome


class NoMetrics:
    """Records nothing: the default for services built without metrics (the unit tests)."""

    def operation_finished(
        self, operation: str, operation_type: str, outcome: str, seconds: float | None
    ) -> None:
        return None

    def subscription_started(self, field: str) -> None:
        return None

    def subscription_ended(self, field: str) -> None:
        return None

    def delivery_attempted(self, outcome: DeliveryOutcome) -> None:
        return None

    def message_delivered(self, stage: DeliveryStage, seconds_since_sent: float) -> None:
        return None

    def deliveries_written(self, outcome: RoundOutcome, deliveries: int) -> None:
        return None

    def cache_looked_up(self, *, hits: int, misses: int) -> None:
        return None

    def response_cache_looked_up(self, *, hit: bool) -> None:
        return None

    def queue_measured(self, queue: QueueName, *, visible: float, in_flight: float) -> None:
        return None


NO_METRICS: Final = NoMetrics()


class NoSendLimit:
    """The limit turned off (`INBOXQL_SEND_RATE_LIMIT=0`)."""

    async def admit(self, sender_id: UserId) -> None:
        return None


class NoLimit:
    """A `RateLimiter` turned off (`INBOXQL_READ_RATE_LIMIT=0`, for one)."""

    async def admit(self, user_id: UserId, /) -> None:
        return None


class NoRegistrations:
    """The persisted-query quota at 0: every registration is over it."""

    async def admit(self, user_id: UserId, /) -> None:
        raise RateLimited("persisted query registration is off", retry_after_seconds=86_400)
