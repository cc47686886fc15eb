"""A parse cache that keeps syntax errors on Strawberry's normal error path.

Strawberry's own ParserCache parses inside its hook, so a syntax error escapes the operation
before any extension sees the result, and `ErrorCodes` could not give it a code. Here a failed
parse is left to Strawberry, which parses again inside its own error handling.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from functools import lru_cache

from graphql import DocumentNode, GraphQLError, parse
from strawberry.extensions import SchemaExtension

CACHED_DOCUMENTS = 512


@lru_cache(maxsize=CACHED_DOCUMENTS)
def _parse(query: str, max_tokens: int | None) -> DocumentNode:
    return parse(query, max_tokens=max_tokens)


def parse_cached(query: str, max_tokens: int | None) -> DocumentNode:
    """The document, from the same cache the schema parses through; GraphQLError if it does
    not parse."""
    return _parse(query, max_tokens)


class CachedParser(SchemaExtension):
    def on_parse(self) -> Iterator[None]:
        context = self.execution_context
        if context.query:
            with contextlib.suppress(GraphQLError):
                context.graphql_document = _parse(
                    context.query, context.parse_options.get("max_tokens")
                )
        yield
