"""The profile of the hottest path: the API-layer server (in-memory fakes) under load, sampled
by pyinstrument in the server process.

    uv run python -m bench.profile [--query messages|unread|conversations|changes]
        [--executed] [--seconds 10] [--out FILE]

prints the call tree (and writes it to FILE when given); requests per second come with it.
`--executed` turns the response cache off, so every request is executed (issue 14's path).
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

from bench.api_layer import CONCURRENCY, check_answers, token_for
from bench.documents import CHANGES_QUERY, CONVERSATIONS_QUERY, PAGE_QUERY, UNREAD_QUERY
from bench.processes import http_load, serving
from bench.serve import FAKE_USER

QUERIES = {
    "messages": PAGE_QUERY,
    "unread": UNREAD_QUERY,
    "conversations": CONVERSATIONS_QUERY,
    "changes": CHANGES_QUERY,
}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.profile", description=__doc__)
    parser.add_argument("--query", choices=sorted(QUERIES), default="messages")
    parser.add_argument("--executed", action="store_true", help="response cache off")
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--out", type=Path)
    parser.add_argument("--session", type=Path, help="keep the pyinstrument session here")
    args = parser.parse_args(argv)
    token = token_for(FAKE_USER)
    with tempfile.TemporaryDirectory(prefix="inboxql-profile-") as folder:
        profile = Path(folder) / "profile.txt"
        options = ("--no-response-cache",) if args.executed else ()
        with serving("fake", Path(folder), profile=profile, options=options) as server:
            check_answers(server.url, token, QUERIES[args.query])
            result = http_load(
                server.port,
                path="/graphql",
                body={"query": QUERIES[args.query]},
                token=token,
                concurrency=CONCURRENCY,
                seconds=args.seconds,
            )
        text = profile.read_text()
        if args.session is not None:
            args.session.write_bytes(profile.with_suffix(".pyisession").read_bytes())
    executed = ", executed every time" if args.executed else ""
    print(f"{args.query}{executed}: {result['rps']:.0f} req/s under the profiler", end="")
    print(f" ({CONCURRENCY} conns)")
    print(text)
    if args.out is not None:
        args.out.write_text(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
