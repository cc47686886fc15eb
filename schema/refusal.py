"""Refusing an operation from a schema extension, after validation and before it executes.

Strawberry checks validation errors before the validation hooks' ends run, so a check that
needs the variables (or an await) refuses from `on_execute` instead: a query or mutation gets a
result in place of executing, with the code set here; a subscription's stream has no such
check, so there the domain error is raised, and Strawberry answers it as the stream's one
result, which `ErrorCodes` maps to its code like any other.
"""

from __future__ import annotations

from graphql import GraphQLError
from strawberry.types.execution import ExecutionContext, PreExecutionError
from strawberry.types.graphql import OperationType

from schema.errors import client_details
from services.errors import InboxError


def refuse(execution_context: ExecutionContext, error: InboxError) -> None:
    if execution_context.operation_type is OperationType.SUBSCRIPTION:
        raise error
    extensions = {**client_details(error), "code": error.code}
    execution_context.result = PreExecutionError(
        data=None, errors=[GraphQLError(error.message, extensions=extensions)]
    )
