"""Validation runs once per distinct document: the limits must not defeat the cache."""

from __future__ import annotations

from typing import Any, cast

import pytest
from strawberry.extensions.validation_cache import _get_validate_cache

from schema import build_schema

VALIDATION_CACHE_SIZE = 256  # as in schema/__init__.py


@pytest.mark.parametrize("introspection", [True, False])
async def test_a_repeated_document_is_validated_once(introspection: bool) -> None:
    schema = build_schema(introspection=introspection)
    # functools.lru_cache's wrapper, typed by Strawberry as a plain callable.
    cache = cast(Any, _get_validate_cache(VALIDATION_CACHE_SIZE))
    document = f"query Repeated{introspection} {{ __typename }}"
    first = await schema.execute(document)
    assert first.errors is None
    before = cache.cache_info()
    for _ in range(3):
        assert (await schema.execute(document)).errors is None
    after = cache.cache_info()
    assert (after.hits - before.hits, after.misses - before.misses) == (3, 0)


async def test_the_limits_still_apply_through_the_cache() -> None:
    schema = build_schema(introspection=False)
    deep = "{ " + "me { " * 12 + "id" + " }" * 12 + " }"
    for _ in range(2):
        result = await schema.execute(deep)
        assert result.errors and "exceeds maximum operation depth" in result.errors[0].message
    for _ in range(2):
        result = await schema.execute("{ __schema { types { name } } }")
        assert result.errors and "introspection" in result.errors[0].message.lower()
