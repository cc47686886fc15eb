"""Domain errors. Each carries the GraphQL `extensions.code` it maps to; the mapping to
GraphQL errors happens in exactly one place (`schema/errors.py`)."""


class InboxError(Exception):
    code = "INTERNAL_SERVER_ERROR"

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class Unauthenticated(InboxError):
    code = "UNAUTHENTICATED"


class Forbidden(InboxError):
    code = "FORBIDDEN"


class BadUserInput(InboxError):
    code = "BAD_USER_INPUT"


class NotFound(InboxError):
    code = "NOT_FOUND"


class RateLimited(InboxError):
    code = "RATE_LIMITED"

    def __init__(self, message: str, *, retry_after_seconds: int) -> None:
        super().__init__(message)
        self.retry_after_seconds = retry_after_seconds


class DependencyUnavailable(InboxError):
    """A store, queue or cache did not answer in time. Shown to clients masked."""


class SyncTooOld(InboxError):
    """The changes after the given version are no longer all kept: the client reloads."""

    code = "SYNC_TOO_OLD"
