"""schema/executor.py and schema/subfields.py: the short paths answer exactly what
graphql-core's own executor answers, errors included, and never share what a request changes."""

from __future__ import annotations

import enum
from collections.abc import Awaitable, Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
import strawberry
from graphql.execution.executor import Executor
from strawberry.extensions import SchemaExtension

from schema.executor import InboxExecutionContext
from schema.parsing import parse_cached
from schema.plain_fields import at_hand


@strawberry.enum
class Colour(enum.Enum):
    RED = "red"


async def _slow_note(root: Item) -> str:
    return f"looked up {root.id}"


def _note(root: Item) -> str | Awaitable[str]:
    return root.known_note if root.known_note is not None else _slow_note(root)


@strawberry.interface
class Named:
    id: strawberry.ID


@strawberry.type
class Item(Named):
    count: int
    at: datetime
    colour: Colour
    label: str | None
    required: str
    known_note: strawberry.Private[str | None] = None
    note: str | Awaitable[str] = strawberry.field(
        resolver=_note, graphql_type=str, metadata=at_hand("known_note")
    )


def _items() -> list[Item]:
    at = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)
    return [
        Item(id=strawberry.ID("a"), count=1, at=at, colour=Colour.RED, label=None, required="x"),
        Item(
            id=strawberry.ID("b"),
            count=2,
            at=at,
            colour=Colour.RED,
            label="B",
            required="y",
            known_note="at hand",
        ),
    ]


@strawberry.type
class Impostor:
    """Item's fields, but not an Item: `is_type_of` refuses it."""

    id: strawberry.ID
    count: int


@strawberry.type
class Tag(Named):
    label: str
    # Lists of a scalar, served item by item: non-null items, nullable items, a nullable
    # list, and a list of lists (graphql-core's).
    words: list[str] = strawberry.field(default_factory=lambda: ["x", "y"])
    gaps: list[str | None] = strawberry.field(default_factory=lambda: ["x", None])
    maybe: list[strawberry.ID] | None = None
    grid: list[list[int]] = strawberry.field(default_factory=lambda: [[1, 2], [3]])


@strawberry.type
class Edge:
    cursor: str
    item: Item
    spare: Item | None = None


@strawberry.type
class Page:
    edges: list[Edge]
    gaps: list[Edge | None]
    first: Edge | None
    things: list[Named]


def _page() -> Page:
    edges = [Edge(cursor=f"c{item.id}", item=item) for item in _items()]
    edges[1].spare = _items()[0]
    things = [*_items(), Tag(id=strawberry.ID("t"), label="tagged")]
    return Page(edges=edges, gaps=[edges[0], None], first=None, things=things)


@strawberry.type
class Query:
    @strawberry.field
    def page(self) -> Page:
        return _page()

    @strawberry.field
    def broken_page(self) -> Page:
        page = _page()
        page.edges[1].item.required = None  # type: ignore[assignment]  # deep in the page
        return page

    @strawberry.field
    def mistyped_page(self) -> Page:
        page = _page()
        page.edges[0].item = Impostor(id=strawberry.ID("x"), count=0)  # type: ignore[assignment]
        return page

    @strawberry.field
    def cast_page(self) -> Page:
        # An Item's own class, but cast to another type: not vouched for by its class alone.
        page = _page()
        page.edges[1].item = strawberry.cast(Impostor, page.edges[1].item)
        return page

    @strawberry.field
    def holed_page(self) -> Page:
        page = _page()
        page.edges.append(None)  # type: ignore[arg-type]  # a null item in a non-null list
        return page

    @strawberry.field
    def items(self) -> list[Item]:
        return _items()

    @strawberry.field
    def broken(self) -> Item:
        item = _items()[0]
        item.required = None  # type: ignore[assignment]  # a bug: a null for a non-null field
        return item

    @strawberry.field
    def oddly_typed(self) -> Item:
        # Not a str: the short path's pass-through for String and ID must not take these.
        item = _items()[0]
        item.id = 5  # type: ignore[assignment]  # ID serializes an int as "5"
        item.required = 2.5  # type: ignore[assignment]  # String serializes it as "2.5"
        return item

    @strawberry.field
    def tags(self) -> list[Tag]:
        plain = Tag(id=strawberry.ID("t"), label="t")
        odd = Tag(id=strawberry.ID("u"), label="u", maybe=[strawberry.ID("m"), 7])  # type: ignore[list-item]
        odd.words = ["w", 3]  # type: ignore[list-item]  # String serializes 3 as "3"
        return [plain, odd]

    @strawberry.field
    def holed_tags(self) -> list[Tag]:
        tag = Tag(id=strawberry.ID("h"), label="h")
        tag.words = ["w", None]  # type: ignore[list-item]  # a null in [String!]!
        return [tag]

    @strawberry.field
    def overflowed(self) -> list[Item]:
        # An int is an Int's own only within 32 bits; a bool is serialized as 1.
        low, high, boolean = _items()[0], _items()[1], _items()[0]
        low.count, high.count = -(2**31), 2**31
        boolean.count = True
        return [low, boolean, high]

    @strawberry.field
    def miscounted(self) -> Item:
        item = _items()[0]
        item.count = "many"  # type: ignore[assignment]  # a bug: Int refuses it
        return item


class ParsedOnce(SchemaExtension):
    """As the real schema parses: the same nodes for the same text, so that the collections
    schema/subfields.py shares are used."""

    def on_parse(self) -> Iterator[None]:
        query = self.execution_context.query
        if query:
            self.execution_context.graphql_document = parse_cached(query, None)
        yield


def schemas() -> tuple[strawberry.Schema, strawberry.Schema]:
    return (
        strawberry.Schema(
            query=Query,
            execution_context_class=InboxExecutionContext,
            extensions=[ParsedOnce],
            types=[Impostor, Tag],
        ),
        strawberry.Schema(query=Query, types=[Impostor, Tag]),
    )


async def both(query: str, variables: dict[str, Any] | None = None) -> Any:
    """Twice each: the second time from what the first collected."""
    ours, graphql_cores = schemas()
    for _ in range(2):
        mine = await ours.execute(query, variable_values=variables)
        theirs = await graphql_cores.execute(query, variable_values=variables)
        assert mine.data == theirs.data
        assert [e.formatted for e in mine.errors or []] == [
            e.formatted for e in theirs.errors or []
        ]
    return mine


@pytest.mark.parametrize(
    "query",
    [
        "{ items { __typename id count at colour label required note } }",
        "{ items { ...F } } fragment F on Item { id at ... on Item { colour note } }",
        "{ items { a: id b: id count } }",
        "{ broken { id required } }",
        "{ miscounted { id count } }",
        "{ oddlyTyped { id required } }",
        "{ overflowed { id count } }",
        "{ tags { words gaps maybe grid } }",
        "{ holedTags { id words } }",
        "{ items { label } page { first { cursor } edges { spare { id } } } }",
        "{ page { edges { cursor item { id note } spare { id } } gaps { cursor }"
        " first { cursor } } }",
        "{ page { __typename edges { __typename ...E } } } fragment E on Edge { item { at } }",
        "{ brokenPage { edges { cursor item { id required } } } }",
        "{ holedPage { edges { cursor } } }",
        "{ mistypedPage { edges { item { id count } } } }",
        "{ page { things { __typename id ... on Item { count at } ... on Tag { label } } } }",
        "{ page { things { ... on Tag { id } } } }",
        "{ castPage { edges { item { id count } } } }",
    ],
)
async def test_answers_as_graphql_core_does(query: str) -> None:
    await both(query)


async def test_plain_leaves_and_values_at_hand() -> None:
    result = await both("{ items { id count at colour label note } }")
    assert result.data == {
        "items": [
            {
                "id": "a",
                "count": 1,
                "at": "2026-01-02T03:04:05+00:00",
                "colour": "RED",
                "label": None,
                "note": "looked up a",
            },
            {
                "id": "b",
                "count": 2,
                "at": "2026-01-02T03:04:05+00:00",
                "colour": "RED",
                "label": "B",
                "note": "at hand",
            },
        ]
    }


async def test_a_null_for_a_non_null_field_is_graphql_cores_error() -> None:
    result = await both("{ broken { id required } }")
    assert result.data is None
    [error] = result.errors or []
    assert error.path == ["broken", "required"]


async def test_what_a_request_changes_is_collected_per_request() -> None:
    # The same document, @include'd one way then the other: the second must not reuse the
    # first's collection.
    query = "query Q($c: Boolean!) { items { id count @include(if: $c) } }"
    ours, _ = schemas()
    with_count = await ours.execute(query, variable_values={"c": True})
    without = await ours.execute(query, variable_values={"c": False})
    assert with_count.data == {"items": [{"id": "a", "count": 1}, {"id": "b", "count": 2}]}
    assert without.data == {"items": [{"id": "a"}, {"id": "b"}]}


async def test_a_repeated_document_answers_the_same() -> None:
    ours, _ = schemas()
    query = "{ items { id ...F } } fragment F on Item { count note }"
    answers = [(await ours.execute(query)).data for _ in range(3)]
    assert answers[0] is not None and answers == [answers[0]] * 3


async def test_a_page_of_plain_objects_is_answered_whole() -> None:
    result = await both(
        "{ page { edges { cursor item { id note } spare { id } } first { cursor } } }"
    )
    assert result.data == {
        "page": {
            "edges": [
                {"cursor": "ca", "item": {"id": "a", "note": "looked up a"}, "spare": None},
                {"cursor": "cb", "item": {"id": "b", "note": "at hand"}, "spare": {"id": "a"}},
            ],
            "first": None,
        }
    }


async def test_a_null_deep_in_a_page_is_graphql_cores_error() -> None:
    result = await both("{ brokenPage { edges { cursor item { id required } } } }")
    assert result.data is None
    [error] = result.errors or []
    assert error.path == ["brokenPage", "edges", 1, "item", "required"]


async def test_a_value_its_type_refuses_is_graphql_cores_error() -> None:
    result = await both("{ mistypedPage { edges { item { id count } } } }")
    [error] = result.errors or []
    assert "Expected value of type 'Item'" in error.message
    assert error.path == ["mistypedPage", "edges", 0, "item"]


async def test_an_interface_list_is_answered_by_each_items_type() -> None:
    query = "{ page { things { __typename id ... on Item { count } ... on Tag { label } } } }"
    result = await both(query)
    assert result.data == {
        "page": {
            "things": [
                {"__typename": "Item", "id": "a", "count": 1},
                {"__typename": "Item", "id": "b", "count": 2},
                {"__typename": "Tag", "id": "t", "label": "tagged"},
            ]
        }
    }


@pytest.mark.parametrize(
    "query",
    [
        "{ page { edges { cursor item { id count at colour } } } }",
        "{ page { things { __typename id ... on Item { count } ... on Tag { label } } } }",
        # Nulls in nullable fields, and lists of scalars, are the short path's too.
        "{ page { first { cursor } edges { spare { id label } } } }",
        "{ page { things { ... on Tag { words gaps maybe } } } }",
    ],
)
async def test_a_page_of_plain_fields_is_one_walk(
    query: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    # What the short path is for: below the root field, graphql-core executes nothing.
    executed: list[str] = []
    theirs = Executor.execute_fields

    def spy(self: Executor[Any], parent_type: Any, *args: Any) -> Any:
        executed.append(parent_type.name)
        return theirs(self, parent_type, *args)

    monkeypatch.setattr(Executor, "execute_fields", spy)
    ours, _ = schemas()
    result = await ours.execute(query)
    assert result.errors is None
    assert executed == ["Query"]


async def test_an_instance_cast_to_another_type_is_graphql_cores_error() -> None:
    result = await both("{ castPage { edges { item { id count } } } }")
    [error] = result.errors or []
    assert "Expected value of type 'Item'" in error.message
    assert error.path == ["castPage", "edges", 1, "item"]


async def test_lists_of_scalars_and_nulls_are_served_as_graphql_core_serves_them() -> None:
    result = await both("{ tags { words gaps maybe grid } holedTags { words } }")
    assert result.data is None  # the null in holedTags' [String!]! reaches the root
    result = await both("{ tags { id words gaps maybe grid } }")
    assert result.data == {
        "tags": [
            {
                "id": "t",
                "words": ["x", "y"],
                "gaps": ["x", None],
                "maybe": None,
                "grid": [[1, 2], [3]],
            },
            {
                "id": "u",
                "words": ["w", "3"],
                "gaps": ["x", None],
                "maybe": ["m", "7"],
                "grid": [[1, 2], [3]],
            },
        ]
    }
    [error] = (await both("{ holedTags { id words } }")).errors or []
    assert error.path == ["holedTags", 0, "words", 1]
