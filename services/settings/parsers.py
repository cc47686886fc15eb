"""How one environment variable's text becomes a setting's value, and what it may hold.

Each parser gets the raw text and the variable's name, so that every `SettingsError` names the
variable to fix. Its `accepts` is what the README's settings table says the variable takes.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Generic, TypeVar

T = TypeVar("T")


class SettingsError(ValueError):
    pass


@dataclass(frozen=True)
class Parser(Generic[T]):
    parse: Callable[[str, str], T]
    accepts: str


def _bool(value: str, name: str) -> bool:
    lowered = value.strip().lower()
    if lowered in {"1", "true", "yes", "on"}:
        return True
    if lowered in {"0", "false", "no", "off"}:
        return False
    raise SettingsError(f"{name} must be a boolean (true/false), got {value!r}")


def _positive_number(value: str, name: str) -> float:
    try:
        number = float(value)
    except ValueError:
        raise SettingsError(f"{name} must be a number, got {value!r}") from None
    if not math.isfinite(number) or number <= 0:
        raise SettingsError(f"{name} must be a positive number, got {value!r}")
    return number


def _origins(value: str, name: str) -> tuple[str, ...]:
    """Comma-separated origins (scheme://host[:port]), or `*` for any."""
    origins = tuple(part.strip() for part in value.split(",") if part.strip())
    for origin in origins:
        scheme, _, rest = origin.partition("://")
        if origin != "*" and (scheme not in ("http", "https") or not rest or "/" in rest):
            raise SettingsError(f"{name}: {origin!r} is not an origin like https://app.example.com")
    return origins


def _hosts(value: str, name: str) -> tuple[str, ...]:
    """Comma-separated host names as a Host header carries them but without the port, or `*`
    for any. Lowercased: host names are case-insensitive."""
    hosts = tuple(part.strip().lower() for part in value.split(",") if part.strip())
    for host in hosts:
        if host != "*" and any(mark in host for mark in ("/", "@", " ", "*")):
            raise SettingsError(f"{name}: {host!r} is not a host name like api.example.com")
    return hosts


def _text(value: str, name: str) -> str:
    return value


def _text_or_none(value: str, name: str) -> str | None:
    return value or None


def _path(value: str, name: str) -> Path:
    return Path(value)


BOOLEAN = Parser(_bool, "`true`/`false`, `yes`/`no`, `on`/`off`, `1`/`0`")
POSITIVE_NUMBER = Parser(_positive_number, "a number above 0")
ORIGINS = Parser(_origins, "`scheme://host[:port]`, comma-separated; `*` for any")
HOSTS = Parser(_hosts, "host names, comma-separated; `*` for any")
TEXT = Parser(_text, "text")
# An empty secret, URL or issuer is never meant: empty means none, as unset does.
TEXT_OR_NONE = Parser(_text_or_none, "text")
PATH = Parser(_path, "a path")


def integer(low: int, high: int) -> Parser[int]:
    def parse(value: str, name: str) -> int:
        try:
            number = int(value)
        except ValueError:
            raise SettingsError(f"{name} must be an integer, got {value!r}") from None
        if not low <= number <= high:
            raise SettingsError(f"{name} must be between {low} and {high}, got {number}")
        return number

    return Parser(parse, f"an integer, {low:,} to {high:,}")


def days_or_off(high: int) -> Parser[int | None]:
    """`off` (or empty) for none, else a whole number of days, 1 to `high`."""

    def parse(value: str, name: str) -> int | None:
        if value.strip().lower() in {"", "off"}:
            return None
        try:
            days = int(value)
        except ValueError:
            raise SettingsError(
                f"{name} must be `off` or a whole number of days, got {value!r}"
            ) from None
        if not 1 <= days <= high:
            raise SettingsError(f"{name} must be `off` or 1 to {high:,} days, got {days}")
        return days

    return Parser(parse, f"`off`, or days: an integer, 1 to {high:,}")


def choice(options: tuple[str, ...]) -> Parser[str]:
    """One of `options`, exactly (no case folding: `JSON` is refused)."""
    quoted = " or ".join(repr(option) for option in options)

    def parse(value: str, name: str) -> str:
        if value not in options:
            raise SettingsError(f"{name} must be {quoted}, got {value!r}")
        return value

    return Parser(parse, " or ".join(f"`{option}`" for option in options))
