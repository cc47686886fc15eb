"""The repository's Dockerfile read as its stages and instructions, for the tests that check it
(tests/unit/test_dockerfile.py) and that run its install path without a Docker daemon
(tests/e2e/test_container_install.py)."""

from __future__ import annotations

import json
import re
import shlex
from dataclasses import dataclass, field
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
DOCKERFILE = REPO / "Dockerfile"
DOCKERIGNORE = REPO / ".dockerignore"


@dataclass(frozen=True)
class Instruction:
    keyword: str
    arguments: str

    def exec_form(self) -> list[str]:
        """A JSON-array argument (`CMD ["a", "b"]`) as its list."""
        parsed = json.loads(self.arguments)
        assert isinstance(parsed, list) and all(isinstance(item, str) for item in parsed)
        return parsed


@dataclass
class Stage:
    image: str
    name: str
    instructions: list[Instruction] = field(default_factory=list)

    def all(self, keyword: str) -> list[Instruction]:
        return [i for i in self.instructions if i.keyword == keyword]

    def last(self, keyword: str) -> Instruction:
        found = self.all(keyword)
        assert found, f"stage {self.name} has no {keyword}"
        return found[-1]

    def env(self) -> dict[str, str]:
        """Its ENV values (KEY=value form), `$PATH`-style references left as written."""
        values: dict[str, str] = {}
        for instruction in self.all("ENV"):
            for pair in shlex.split(instruction.arguments):
                key, _, value = pair.partition("=")
                values[key] = value
        return values

    def copied_sources(self) -> list[str]:
        """The build-context paths its COPY instructions take (not those `--from` a stage)."""
        sources: list[str] = []
        for instruction in self.all("COPY"):
            words = instruction.arguments.split()
            if any(word.startswith("--from=") for word in words):
                continue
            sources += [word for word in words[:-1] if not word.startswith("--")]
        return sources


def logical_lines(text: str) -> list[str]:
    """Instructions one a line: comments dropped, backslash continuations joined."""
    lines: list[str] = []
    pending = ""
    for raw in text.splitlines():
        stripped = raw.strip()
        if not stripped or stripped.startswith("#"):
            continue
        if stripped.endswith("\\"):
            pending += stripped[:-1] + " "
            continue
        lines.append(pending + stripped)
        pending = ""
    assert not pending, "a continuation at the end of the Dockerfile"
    return lines


def stages(path: Path = DOCKERFILE) -> list[Stage]:
    args: dict[str, str] = {}
    found: list[Stage] = []
    for line in logical_lines(path.read_text()):
        keyword, _, rest = line.partition(" ")
        keyword, rest = keyword.upper(), rest.strip()
        if keyword == "ARG" and not found:
            name, _, default = rest.partition("=")
            args[name] = default
        elif keyword == "FROM":
            match = re.fullmatch(r"(\S+)(?:\s+AS\s+(\S+))?", rest, flags=re.IGNORECASE)
            assert match is not None, rest
            image = re.sub(r"\$\{(\w+)\}", lambda m: args[m.group(1)], match.group(1))
            found.append(Stage(image, match.group(2) or str(len(found))))
        else:
            assert found, f"{keyword} before any FROM"
            found[-1].instructions.append(Instruction(keyword, rest))
    return found


def stage(name: str) -> Stage:
    by_name = {s.name: s for s in stages()}
    return by_name[name]


def ignore_patterns() -> list[str]:
    return [
        line.strip()
        for line in DOCKERIGNORE.read_text().splitlines()
        if line.strip() and not line.startswith("#")
    ]
