"""Which media type a GraphQL response goes out in, from the request's `Accept` header.

The GraphQL-over-HTTP specification defines two response media types:
`application/graphql-response+json` (preferred: its status codes mean something) and
`application/json` (legacy: every well-formed request gets 200). RFC 9110 §12.5.1 rules apply:
the most specific matching media range sets a type's q-value, and q=0 means "not acceptable".
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

GRAPHQL_RESPONSE_JSON = "application/graphql-response+json"
APPLICATION_JSON = "application/json"
OFFERED = (GRAPHQL_RESPONSE_JSON, APPLICATION_JSON)

# One element of the comma-separated list; a quoted parameter value may contain commas.
_ELEMENT = re.compile(r'(?:[^,"]|"(?:[^"\\]|\\.)*")+')
_TOKEN = re.compile(r"^[!#$%&'*+.^_`|~0-9A-Za-z-]+$")
_QVALUE = re.compile(r"^(?:0(?:\.\d{0,3})?|1(?:\.0{0,3})?)$")


@dataclass(frozen=True)
class MediaRange:
    type: str
    subtype: str
    charset: str | None
    q: float

    def specificity(self, media_type: str) -> int | None:
        """How closely this range names `media_type`: 2 exactly, 1 `type/*`, 0 `*/*`;
        None when it does not match it at all."""
        kind, sub = media_type.split("/")
        if self.charset is not None and self.charset != "utf-8":
            return None  # we only ever encode in UTF-8
        if self.type == kind and self.subtype == sub:
            return 2
        if self.type == kind and self.subtype == "*":
            return 1
        if self.type == "*" and self.subtype == "*":
            return 0
        return None


def parse_accept(header: str) -> list[MediaRange]:
    """The well-formed media ranges of an Accept header; malformed elements are skipped."""
    ranges = []
    for match in _ELEMENT.finditer(header):
        parsed = _parse_range(match.group(0))
        if parsed is not None:
            ranges.append(parsed)
    return ranges


def _parse_range(element: str) -> MediaRange | None:
    name, *params = (part.strip() for part in element.split(";"))
    kind, slash, sub = name.lower().partition("/")
    if not slash or not _TOKEN.match(kind) or not _TOKEN.match(sub) or (kind == "*" != sub):
        return None
    charset, q = None, 1.0
    for param in params:
        key, equals, value = param.partition("=")
        key, value = key.strip().lower(), value.strip().strip('"')
        if not equals:
            return None
        if key == "q":
            if not _QVALUE.match(value):
                return None
            q = float(value)
        elif key == "charset":
            charset = value.lower()
    return MediaRange(kind, sub, charset, q)


@lru_cache(maxsize=256)
def negotiate(accept: str | None) -> str | None:
    """The media type to answer in, or None when the client accepts neither (406).

    Without an Accept header (or an empty one) the answer is
    `application/graphql-response+json`: the specification's SHOULD since its legacy
    watershed of 1 January 2025. Between types of equal q-value, a
    type the client names beats one that only a wildcard covers; if it names both, the
    modern type wins; if only wildcards cover them (`*/*`), the legacy one does, since such a
    client has not said it understands the new media type.

    Memoised: clients send the same few headers again and again (a bounded cache, so headers
    made up per request cost only their own parse).
    """
    if accept is None or not accept.strip():
        return GRAPHQL_RESPONSE_JSON
    ranges = parse_accept(accept)
    best: tuple[float, bool, bool] | None = None
    chosen = None
    for media_type in OFFERED:
        q, named = _quality(ranges, media_type)
        if q <= 0:
            continue
        modern = media_type == GRAPHQL_RESPONSE_JSON
        key = (q, named, modern == named)
        if best is None or key > best:
            best, chosen = key, media_type
    return chosen


def _quality(ranges: list[MediaRange], media_type: str) -> tuple[float, bool]:
    """The q-value the most specific matching range gives `media_type`, and whether that
    range names it exactly."""
    best_specificity, q = -1, 0.0
    for media_range in ranges:
        specificity = media_range.specificity(media_type)
        if specificity is None:
            continue
        # A range with a charset is more specific than the same range without one.
        rank = specificity * 2 + (media_range.charset is not None)
        if rank > best_specificity:
            best_specificity, q = rank, media_range.q
    return q, best_specificity >= 4
