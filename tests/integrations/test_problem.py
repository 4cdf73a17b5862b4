"""Error-to-problem mapping and score encoding shared by both integrations."""

from __future__ import annotations

import asyncio
import builtins
import datetime
import enum
import json
import uuid
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from pydantic import BaseModel

from cadence import (
    Atomic,
    AtomicDict,
    AtomicList,
    Cadence,
    CheckpointError,
    NoteError,
    RetryExhaustedError,
    TimeoutError,
    note,
)
from cadence.integrations._encode import ScoreEncodingError, dumps, to_jsonable
from cadence.integrations._idempotency import IdempotencyKeyError
from cadence.integrations._problem import error_chain, problem_for
from cadence.integrations.fastapi import CadenceRouter
from cadence.resilience import circuit_breaker
from tests.integrations._models import OrderScore


def _note_error(inner: BaseException) -> NoteError:
    return NoteError(f"note 'n' failed: {inner}", "n", inner, code=getattr(inner, "code", None))


def test_status_follows_the_root_cause_through_retries() -> None:
    """Retries exhausted on timeouts map to 504, keeping the note's own code."""
    timeout = TimeoutError("too slow", timeout=1.0)
    exhausted = RetryExhaustedError("3 attempts", attempts=3, last_error=timeout)
    error = _note_error(exhausted)
    assert list(error_chain(error)) == [error, exhausted, timeout]
    problem = problem_for(error)
    assert (problem.status, problem.code, problem.title) == (
        504,
        "RETRY_EXHAUSTED",
        "Gateway Timeout",
    )


def test_asyncio_timeouts_count_as_timeouts() -> None:
    """A builtin TimeoutError raised inside a note (asyncio.timeout) is a 504 too."""
    assert problem_for(_note_error(builtins.TimeoutError())).status == 504


def test_lease_held_is_409_and_unknown_errors_are_generic_500() -> None:
    """A held checkpoint lease is 409; a non-cadence error is a 500 that reveals nothing."""
    lease = CheckpointError("held by worker-2", "LEASE_HELD")
    assert problem_for(_note_error(lease)).status == 409
    problem = problem_for(RuntimeError("password=swordfish"))
    assert (problem.status, problem.code) == (500, "INTERNAL_ERROR")
    assert "swordfish" not in json.dumps(problem.to_dict())


def test_expose_errors_puts_the_message_in_detail() -> None:
    """expose_errors=True shows the error's message for development."""
    problem = problem_for(_note_error(ValueError("boom")), expose_errors=True)
    assert "boom" in problem.detail


def test_idempotency_key_errors_keep_their_status() -> None:
    """Idempotency-Key errors carry their own 400/422 status and code."""
    problem = problem_for(IdempotencyKeyError("bad", status=400, code="IDEMPOTENCY_KEY_INVALID"))
    assert (problem.status, problem.code, problem.title) == (
        400,
        "IDEMPOTENCY_KEY_INVALID",
        "Bad Request",
    )


def test_handler_returning_none_keeps_the_default() -> None:
    """An errors= handler may decline by returning None."""
    problem = problem_for(_note_error(KeyError("k")), errors={KeyError: lambda e, p: None})
    assert problem.status == 500 and problem.code == "NOTE_ERROR"


def test_real_policies_map_to_503_and_504() -> None:
    """Real @note timeouts and circuit breakers produce 504 and 503 with Retry-After."""

    @note(retry={"max_attempts": 2, "delay": 0}, timeout=0.01)
    async def hangs(score: OrderScore) -> None:
        await asyncio.Event().wait()

    @circuit_breaker(failure_threshold=1, recovery_timeout=30.0, name="web-test-payments")
    @note
    async def fragile(score: OrderScore) -> None:
        raise ConnectionError("payments down")

    router = CadenceRouter()

    @router.cadence("/hang", Cadence("hang", OrderScore(order_id="h")).then("hangs", hangs))
    async def hang() -> OrderScore:
        return OrderScore(order_id="h")

    @router.cadence("/pay", Cadence("pay", OrderScore(order_id="p")).then("fragile", fragile))
    async def pay() -> OrderScore:
        return OrderScore(order_id="p")

    app = FastAPI()
    app.include_router(router)
    client = TestClient(app)
    timed_out = client.post("/hang")
    assert (timed_out.status_code, timed_out.json()["code"]) == (504, "RETRY_EXHAUSTED")
    assert client.post("/pay").status_code == 500  # the failure that opens the circuit
    refused = client.post("/pay")
    assert refused.status_code == 503 and refused.json()["code"] == "CIRCUIT_OPEN"
    assert 1 <= int(refused.headers["retry-after"]) <= 30


class Color(enum.Enum):
    """An enum field."""

    RED = "red"


class Item(BaseModel):
    """A pydantic value inside a dataclass score."""

    name: str
    at: datetime.date


@dataclass
class Rich:
    """A score with every supported kind of value."""

    color: Color = Color.RED
    when: datetime.datetime = datetime.datetime(2026, 1, 2, 3, 4, 5)
    ident: uuid.UUID = field(default_factory=lambda: uuid.UUID(int=1))
    price: Decimal = Decimal("1.50")
    ratio: float = float("nan")
    items: list[Item] = field(
        default_factory=lambda: [Item(name="a", at=datetime.date(2026, 1, 1))]
    )
    tags: set[str] = field(default_factory=lambda: {"x"})
    results: AtomicList[int] = field(default_factory=lambda: AtomicList([1, 2]))
    cache: AtomicDict[str, int] = field(default_factory=lambda: AtomicDict({"k": 1}))
    count: Atomic[int] = field(default_factory=lambda: Atomic(3))
    raw: bytes = b"hi"
    wait: datetime.timedelta = datetime.timedelta(seconds=1.5)


def test_rich_scores_encode_the_same_on_both_paths() -> None:
    """The fast (pydantic-core) and stdlib encoders give the same JSON for a rich score."""
    expected: dict[str, Any] = {
        "color": "red",
        "when": "2026-01-02T03:04:05",
        "ident": "00000000-0000-0000-0000-000000000001",
        "price": "1.50",
        "ratio": None,
        "items": [{"name": "a", "at": "2026-01-01"}],
        "tags": ["x"],
        "results": [1, 2],
        "cache": {"k": 1},
        "count": 3,
        "raw": "aGk=",
        "wait": 1.5,
    }
    assert json.loads(dumps(Rich())) == expected
    assert to_jsonable(Rich()) == expected


def test_unencodable_values_name_their_path() -> None:
    """A value with no JSON form fails with its path in the score."""
    with pytest.raises(ScoreEncodingError, match=r"object at \$\.items\[0\]\.deep"):
        dumps({"items": [{"deep": object()}]})
