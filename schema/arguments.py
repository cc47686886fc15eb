"""GraphQL arguments as the resolvers take them."""

from typing import TypeVar

from strawberry.types.unset import UnsetType

T = TypeVar("T")

# An explicit `first: null` means the default, as if the argument were left out.
DEFAULT_PAGE_SIZE = 20


def given(value: T | UnsetType | None) -> T | None:
    """An argument the client left out is None to the services; an explicit value, even an
    empty string, goes through to be validated."""
    return None if isinstance(value, UnsetType) else value


def page_size(first: int | None) -> int:
    return DEFAULT_PAGE_SIZE if first is None else first


# `changes` pages default to the most a page may hold: catching up is the usual call.
CHANGES_PAGE_SIZE = 100
