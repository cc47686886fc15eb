"""Argument translation shared by resolvers."""

from typing import TypeVar

from strawberry.types.unset import UnsetType

T = TypeVar("T")


def given(value: T | UnsetType | None) -> T | None:
    """An argument the client left out is None to the services; an explicit value, even an
    empty string, goes through to be validated."""
    return None if isinstance(value, UnsetType) else value
