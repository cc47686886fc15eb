"""The process-wide parse cache: the schema parses through it (schema/operation.py), and so
do the transports that look at a document before they run it."""

from __future__ import annotations

from functools import lru_cache

from graphql import DocumentNode, parse

CACHED_DOCUMENTS = 512


@lru_cache(maxsize=CACHED_DOCUMENTS)
def _parse(query: str, max_tokens: int | None) -> DocumentNode:
    return parse(query, max_tokens=max_tokens)


def parse_cached(query: str, max_tokens: int | None) -> DocumentNode:
    """The document, from the same cache the schema parses through; GraphQLError if it does
    not parse."""
    return _parse(query, max_tokens)
