"""What one row of the settings declaration holds, how it reads the environment, and how rows
are shown: the lines of `server.py --help` and the README's settings table.

A default is written as the text the variable would hold, as in starlette's `Config`: the
row's parser turns it into the value (so bounds apply to defaults too), and the same text is
what people are shown. Defaults that are not one fixed text are one of the rules below.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from services.settings.parsers import Parser


@dataclass(frozen=True)
class ByStack:
    """One default in local mode, another in external mode."""

    local: str
    external: str

    def raw(self, env: Mapping[str, str], local: bool) -> str:
        return self.local if local else self.external

    def words(self, markdown: bool) -> str:
        if markdown:
            return f"`{self.local}` in local mode, else `{self.external}`"
        return f"{self.local} if local, else {self.external}"


@dataclass(frozen=True)
class Follows:
    """Another row's value: while this variable is unset, and also while it is empty, since an
    empty value is not one of its values and "leave it as the other" is the only sense of it."""

    row: EnvRow

    def raw(self, env: Mapping[str, str], local: bool) -> str:
        return self.row.raw(env, local)

    def words(self, markdown: bool) -> str:
        return f"as `{self.row.env}`" if markdown else f"as {self.row.env}"


@dataclass(frozen=True)
class UnderHome:
    """A path below the home folder, looked up each time a default is made, not at import."""

    path: str

    def raw(self, env: Mapping[str, str], local: bool) -> str:
        return str(Path.home() / self.path)

    def words(self, markdown: bool) -> str:
        return f"`~/{self.path}`" if markdown else f"~/{self.path}"


Default = str | ByStack | Follows | UnderHome


@dataclass(frozen=True)
class EnvRow:
    """A variable that fills one `Settings` field."""

    env: str
    field: str
    parser: Parser[Any]
    default: Default
    help: str  # one line of `server.py --help`
    doc: str = ""  # the README's meaning, in Markdown, when it says more than `help`
    also: tuple[str, ...] = ()  # read in turn while `env` is unset
    shown: str = ""  # the default in words, when its text would tell people nothing
    secret: bool = False  # kept out of `repr`, hence out of logs

    @property
    def names(self) -> tuple[str, ...]:
        return (self.env, *self.also)

    @property
    def accepts(self) -> str:
        return self.parser.accepts

    def raw(self, env: Mapping[str, str], local: bool) -> str:
        for name in self.names:
            value = env.get(name)
            if value is not None and (value or not isinstance(self.default, Follows)):
                return value
        if isinstance(self.default, str):
            return self.default
        return self.default.raw(env, local)

    def read(self, env: Mapping[str, str], local: bool) -> Any:
        return self.parser.parse(self.raw(env, local), self.env)

    def default_value(self) -> Any:
        """The value with nothing set, in local mode: the `Settings` field's default."""
        return self.read({}, local=True)

    def shown_default(self, markdown: bool) -> str:
        if self.shown:
            return self.shown
        if not isinstance(self.default, str):
            return self.default.words(markdown)
        if not self.default:
            return "none"
        return f"`{self.default}`" if markdown else self.default


@dataclass(frozen=True)
class ToolRow:
    """A variable `LocalTools.from_env` reads: it is parsed there, and only shown from here."""

    env: str
    shown: str
    help: str
    doc: str = ""

    accepts = "the path of a program"

    @property
    def names(self) -> tuple[str, ...]:
        return (self.env,)

    def shown_default(self, markdown: bool) -> str:
        return self.shown


@dataclass(frozen=True)
class SdkRow:
    """A variable the OpenTelemetry SDK reads itself, when tracing is on; shown only."""

    env: str
    shown: str
    accepts: str
    help: str
    doc: str = ""

    @property
    def names(self) -> tuple[str, ...]:
        return (self.env,)

    def shown_default(self, markdown: bool) -> str:
        return self.shown


Row = EnvRow | ToolRow | SdkRow


def help_rows(rows: Iterable[Row]) -> tuple[tuple[str, str, str], ...]:
    """(variable, default, meaning) for each row, as `server.py --help` lists them."""
    return tuple((row.env, row.shown_default(markdown=False), row.help) for row in rows)


def _cell(text: str) -> str:
    return text.replace("|", "\\|")


def markdown_table(rows: Iterable[Row]) -> str:
    lines = ["| setting | default | values | meaning |", "|---|---|---|---|"]
    for row in rows:
        setting = f"`{row.env}`" + "".join(f" (or `{name}`)" for name in row.names[1:])
        cells = (setting, row.shown_default(markdown=True), row.accepts, row.doc or row.help)
        lines.append("| " + " | ".join(_cell(cell) for cell in cells) + " |")
    return "\n".join(lines) + "\n"
