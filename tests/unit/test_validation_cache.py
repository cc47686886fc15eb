"""Validation runs once per distinct document: the limits must not defeat the cache."""

from __future__ import annotations

from typing import Any

import pytest
from graphql import GraphQLError, validate

from schema import build_schema


@pytest.mark.parametrize("introspection", [True, False])
async def test_a_repeated_document_is_validated_once(
    introspection: bool, monkeypatch: pytest.MonkeyPatch
) -> None:
    validated: list[object] = []

    def counting(schema: Any, document: Any, rules: Any) -> list[GraphQLError]:
        validated.append(document)
        return validate(schema, document, rules)

    monkeypatch.setattr("schema.operation.validate", counting)
    schema = build_schema(introspection=introspection)
    document = f"query Repeated{introspection} {{ __typename }}"
    for _ in range(4):
        assert (await schema.execute(document)).errors is None
    assert len(validated) == 1


async def test_a_document_with_errors_is_answered_the_same_each_time() -> None:
    # The cached errors are mapped on their way out, every time: the cache keeps them as found.
    schema = build_schema(introspection=True)
    answers = [await schema.execute("{ unreadCont }") for _ in range(3)]
    messages = [[error.message for error in answer.errors or []] for answer in answers]
    codes = [
        [(error.extensions or {}).get("code") for error in answer.errors or []]
        for answer in answers
    ]
    assert messages[0] and messages == [messages[0]] * 3
    assert codes == [["BAD_USER_INPUT"]] * 3


async def test_the_limits_still_apply_through_the_cache() -> None:
    schema = build_schema(introspection=False)
    deep = "{ " + "me { " * 12 + "id" + " }" * 12 + " }"
    for _ in range(2):
        result = await schema.execute(deep)
        assert result.errors and "exceeds maximum operation depth" in result.errors[0].message
    for _ in range(2):
        result = await schema.execute("{ __schema { types { name } } }")
        assert result.errors and "introspection" in result.errors[0].message.lower()
