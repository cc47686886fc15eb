"""Permission classes for root fields."""

from typing import Any

from strawberry.permission import BasePermission

from schema.info import Info


class IsAuthenticated(BasePermission):
    message = "authentication required"
    error_extensions = {"code": "UNAUTHENTICATED"}  # noqa: RUF012  # Strawberry's own API

    def has_permission(self, source: Any, info: Info, **kwargs: Any) -> bool:
        context = info.context
        if context.user_id is None:
            # The specific reason (missing, expired, forged) helps the client more than a
            # generic message; the error extension maps the code.
            _ = context.viewer
        return True
