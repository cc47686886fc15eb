"""schema/selection.py: what a field's selection asks for, through aliases and fragments, and
the same answer for a document asked again (kept per document), never another document's."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import strawberry
from strawberry.extensions import SchemaExtension

from schema.parsing import parse_cached
from schema.selection import selects_path

BODY = ("edges", "node", "body")
ASKED: list[tuple[bool, bool]] = []


@strawberry.type
class Node:
    id: str
    body: str
    read_at: str


@strawberry.type
class Edge:
    node: Node


@strawberry.type
class Page:
    edges: list[Edge]


@strawberry.type
class Query:
    @strawberry.field
    def page(self, info: strawberry.Info) -> Page:
        ASKED.append((selects_path(info, BODY), selects_path(info, ("edges",), ("readAt",))))
        return Page(edges=[Edge(node=Node(id="1", body="hi", read_at="then"))])


class ParsedOnce(SchemaExtension):
    def on_parse(self) -> Iterator[None]:
        query = self.execution_context.query
        if query:
            self.execution_context.graphql_document = parse_cached(query, None)
        yield


SCHEMA = strawberry.Schema(query=Query, extensions=[ParsedOnce])


async def asked(query: str) -> tuple[bool, bool]:
    ASKED.clear()
    result = await SCHEMA.execute(query)
    assert result.errors is None
    [answer] = ASKED
    return answer


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("{ page { edges { node { id } } } }", (False, False)),
        ("{ page { edges { node { id body } } } }", (True, False)),
        ("{ page { e: edges { n: node { b: body } } } }", (True, False)),
        (
            "{ page { ...P } } fragment P on Page { edges { node { ... on Node { body } } } }",
            (True, False),
        ),
        ("{ page { edges { node { readAt } } } }", (False, True)),
        ("{ page { edges { ...N } } } fragment N on Edge { node { readAt } }", (False, True)),
    ],
)
async def test_reads_the_selection_through_aliases_and_fragments(
    query: str, expected: tuple[bool, bool]
) -> None:
    assert await asked(query) == expected
    # Asked again, from what the first answer kept.
    assert await asked(query) == expected


async def test_one_documents_answer_is_not_anothers() -> None:
    answers: list[Any] = []
    for query in ("{ page { edges { node { body } } } }", "{ page { edges { node { id } } } }"):
        answers.append(await asked(query))
    assert answers == [(True, False), (False, False)]
