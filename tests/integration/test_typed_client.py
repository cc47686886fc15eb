"""examples/typed-client: GraphQL Code Generator types every operation in examples/operations from
schema.graphql, and `tsc --noEmit` checks the client against them, so a schema change that breaks
clients fails here. tests/e2e/test_typed_client_runs.py runs the client against a server."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.typed_client import OPERATIONS, SCHEMA, codegen, node_modules, output, tsc, workspace


@pytest.fixture(scope="module", autouse=True)
def installed() -> Path:
    return node_modules()


def test_codegen_types_every_operation_and_the_client_type_checks(tmp_path: Path) -> None:
    client = workspace(tmp_path, SCHEMA.read_text())
    generated = codegen(client)
    assert generated.returncode == 0, output(generated)
    types = (client / "gql" / "graphql.ts").read_text()
    for operation in sorted(path.stem for path in OPERATIONS.glob("*.graphql")):
        assert f"export const {operation}Document = " in types, operation
    checked = tsc(client)
    assert checked.returncode == 0, output(checked)


def test_a_renamed_field_fails_codegen(tmp_path: Path) -> None:
    schema = SCHEMA.read_text()
    broken = schema.replace("  endCursor: String\n", "  lastCursor: String\n")
    assert broken != schema, "PageInfo.endCursor is no longer in schema.graphql"
    generated = codegen(workspace(tmp_path, broken))
    assert generated.returncode != 0
    assert 'Cannot query field "endCursor"' in output(generated)


def test_a_changed_field_type_passes_codegen_and_fails_tsc(tmp_path: Path) -> None:
    # The operations still validate; only the client's use of the result no longer fits.
    schema = SCHEMA.read_text()
    query = "type Query {\n  me: User!\n  unreadCount: Int!\n"
    broken = schema.replace(query, query.replace("unreadCount: Int!", "unreadCount: String!"))
    assert broken != schema, "Query.unreadCount is no longer where this test expects it"
    client = workspace(tmp_path, broken)
    generated = codegen(client)
    assert generated.returncode == 0, output(generated)
    checked = tsc(client)
    assert checked.returncode != 0
    assert "client.ts" in checked.stdout and "not assignable to type 'number'" in checked.stdout
