"""Fixtures for the checkpoint tests: real redis-server and PostgreSQL, started once per session."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))

from _servers import start_postgres, start_redis


@pytest.fixture(scope="session")
def redis_url() -> Iterator[str]:
    """URL of a redis-server started for this test session."""
    url, stop = start_redis()
    yield url
    stop()


@pytest.fixture(scope="session")
def postgres_dsn() -> Iterator[str]:
    """DSN of a PostgreSQL cluster initialised and started for this test session."""
    dsn, stop = start_postgres()
    yield dsn
    stop()


@pytest.fixture
def store_address(kind: str, tmp_path: Path, request: pytest.FixtureRequest) -> str:
    """Where a campaign's store of ``kind`` (the test's parameter) lives: a file, a URL, a DSN."""
    if kind == "sqlite":
        return str(tmp_path / "campaign.db")
    fixture = {"redis": "redis_url", "postgres": "postgres_dsn"}[kind]
    address: str = request.getfixturevalue(fixture)
    return address
