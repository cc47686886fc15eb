"""What a GraphQL field receives besides its arguments: Strawberry's `Info` over our context."""

from __future__ import annotations

from typing import TypeAlias

from strawberry.types import Info as StrawberryInfo

from resolvers.context import Context

Info: TypeAlias = StrawberryInfo[Context, None]
