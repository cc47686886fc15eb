"""What `bootstrap()` hands its callers: the services, the ports behind them and the clients it
opened. Everything is typed by its port, so nothing that holds an `App` depends on an adapter.

A role builds only what it needs (see `services/bootstrap.py`); asking an `App` for a part its
role did not build is a programming error, and says so.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal, TypeVar

from services.conversations import ConversationService
from services.deletion import DeletionService
from services.inbox import InboxService
from services.observability.probes import DependencyProbes
from services.observability.tracing import Tracing
from services.ports import (
    DeliveryConsumer,
    DeliveryProducer,
    EventHub,
    MessageStore,
    Metrics,
    PersistedQueryStore,
    RateLimiter,
    TokenVerifier,
)
from services.presence import PresenceService
from services.read_marks import ReadMarkService
from services.sending import SendService
from services.settings import Settings
from services.sync import SyncService

Role = Literal["api", "worker", "lambda"]
ROLES: tuple[Role, ...] = ("api", "worker", "lambda")

T = TypeVar("T")


class NotInRole(LookupError):
    pass


@dataclass
class Clients:
    """The raw clients, for the dependency probes, the operator commands and the tests that
    reach below the ports. None where every part that would have used one was given instead.
    aiobotocore's clients are untyped: Any."""

    dynamodb: Any = None
    sqs: Any = None
    redis: Any = None
    # The delivery queue's URL, looked up (or created) once at start.
    queue_url: str = ""


@dataclass
class RoleParts:
    """The parts only some roles build; None where the role has no use for it."""

    inbox: InboxService | None = None
    read_marks: ReadMarkService | None = None
    sync: SyncService | None = None
    sending: SendService | None = None
    presence: PresenceService | None = None
    conversations: ConversationService | None = None
    deletion: DeletionService | None = None
    tokens: TokenVerifier | None = None
    persisted_queries: PersistedQueryStore | None = None
    # Every operation of a user counts once (schema/read_limit.py).
    read_limiter: RateLimiter | None = None
    # Persisted-query registrations per user (schema/transport/persisted_queries.py).
    registration_quota: RateLimiter | None = None
    producer: DeliveryProducer | None = None
    consumer: DeliveryConsumer | None = None


@dataclass
class App:
    settings: Settings
    role: Role
    metrics: Metrics
    store: MessageStore
    hub: EventHub
    probes: DependencyProbes
    clients: Clients = field(default_factory=Clients)
    built: RoleParts = field(default_factory=RoleParts)
    # None unless tracing is on: then the adapters bootstrap built are their traced kinds.
    tracing: Tracing | None = None

    def _need(self, part: T | None, name: str) -> T:
        if part is None:
            raise NotInRole(f"the {self.role} role builds no {name}")
        return part

    @property
    def inbox(self) -> InboxService:
        return self._need(self.built.inbox, "inbox service")

    @property
    def read_marks(self) -> ReadMarkService:
        return self._need(self.built.read_marks, "read mark service")

    @property
    def sync(self) -> SyncService:
        return self._need(self.built.sync, "sync service")

    @property
    def sending(self) -> SendService:
        return self._need(self.built.sending, "send service")

    @property
    def presence(self) -> PresenceService:
        return self._need(self.built.presence, "presence service")

    @property
    def conversations(self) -> ConversationService:
        return self._need(self.built.conversations, "conversation service")

    @property
    def deletion(self) -> DeletionService:
        return self._need(self.built.deletion, "deletion service")

    @property
    def tokens(self) -> TokenVerifier:
        return self._need(self.built.tokens, "token verifier")

    @property
    def persisted_queries(self) -> PersistedQueryStore:
        return self._need(self.built.persisted_queries, "persisted query store")

    @property
    def read_limiter(self) -> RateLimiter:
        return self._need(self.built.read_limiter, "read rate limiter")

    @property
    def registration_quota(self) -> RateLimiter:
        return self._need(self.built.registration_quota, "persisted query registration quota")

    @property
    def producer(self) -> DeliveryProducer:
        return self._need(self.built.producer, "delivery queue producer")

    @property
    def consumer(self) -> DeliveryConsumer:
        return self._need(self.built.consumer, "delivery queue consumer")
