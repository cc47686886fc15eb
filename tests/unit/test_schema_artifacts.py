"""The files frontend developers read: schema.graphql and examples/ stay true to the code."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from graphql import GraphQLSchema, OperationDefinitionNode, parse, validate

from schema import build_schema

REPO = Path(__file__).resolve().parents[2]
OPERATIONS = sorted((REPO / "examples" / "operations").glob("*.graphql"))
SNIPPETS = sorted((REPO / "examples").glob("*.ts"))
# A GraphQL document inside a snippet: gql`...` or /* GraphQL */ `...`
EMBEDDED = re.compile(r"(?:gql|/\* GraphQL \*/ )`([^`]*)`")


@pytest.fixture(scope="module")
def graphql_schema() -> GraphQLSchema:
    return build_schema()._schema


def test_schema_graphql_is_up_to_date() -> None:
    expected = build_schema().as_str() + "\n"
    assert (REPO / "schema.graphql").read_text() == expected, (
        "schema.graphql is stale: run `uv run server.py schema > schema.graphql`"
    )


@pytest.mark.parametrize("path", OPERATIONS, ids=[p.stem for p in OPERATIONS])
def test_each_example_operation_is_valid(path: Path, graphql_schema: GraphQLSchema) -> None:
    document = parse(path.read_text())
    assert validate(graphql_schema, document) == []
    (operation,) = document.definitions
    assert isinstance(operation, OperationDefinitionNode)
    assert operation.name is not None and operation.name.value == path.stem


def test_examples_cover_every_root_field(graphql_schema: GraphQLSchema) -> None:
    used: set[tuple[str, str]] = set()
    for path in OPERATIONS:
        (operation,) = parse(path.read_text()).definitions
        assert isinstance(operation, OperationDefinitionNode)
        for selection in operation.selection_set.selections:
            used.add((operation.operation.value, selection.name.value))  # type: ignore[attr-defined]
    roots = {
        "query": graphql_schema.query_type,
        "mutation": graphql_schema.mutation_type,
        "subscription": graphql_schema.subscription_type,
    }
    every = {(kind, name) for kind, root in roots.items() if root for name in root.fields}
    assert every - used == set()


@pytest.mark.parametrize("path", SNIPPETS, ids=[p.name for p in SNIPPETS])
def test_client_snippets_use_valid_documents(path: Path, graphql_schema: GraphQLSchema) -> None:
    documents = EMBEDDED.findall(path.read_text())
    assert documents, f"no GraphQL document found in {path.name}"
    for text in documents:
        assert validate(graphql_schema, parse(text)) == [], text
