"""Fixtures of more than one integration module."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.integration.test_redis_servers import RedisServer, start_cluster


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[list[RedisServer]]:
    """A three-node Valkey cluster for the module that asks for it, stopped after it."""
    nodes = start_cluster(tmp_path_factory.mktemp("redis-cluster"))
    try:
        yield nodes
    finally:
        for node in nodes:
            node.stop()
