"""The seed README's examples, run as written with stand-in services.

Sections: Quick start (checkout, RAG), Sequential, Parallel, Branching, Composition,
Immutable score, Atomic types, Error handling. Only the stand-in services are ours.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass, field
from types import SimpleNamespace

import pytest

from cadence import (
    AtomicDict,
    AtomicList,
    Cadence,
    CadenceError,
    ImmutableScore,
    NoteError,
    ParallelNoteError,
    Score,
    fallback,
    note,
    retry,
    timeout,
)

logger = logging.getLogger("seed-tests")


# --- stand-in services -------------------------------------------------------------------


class _DB:
    async def get_items(self, order_id: str) -> list[SimpleNamespace]:
        await asyncio.sleep(0)
        return [SimpleNamespace(price=10.0), SimpleNamespace(price=5.5)]


class _Payments:
    def __init__(self) -> None:
        self.charged: list[tuple[str, float]] = []

    async def charge(self, order_id: str, total: float) -> None:
        await asyncio.sleep(0)
        self.charged.append((order_id, total))


class _VectorDB:
    async def search(self, query: str) -> list[str]:
        await asyncio.sleep(0.01)
        return [f"doc about {query}"]


class _SearchAPI:
    async def query(self, query: str) -> list[str]:
        return [f"web result for {query}"]


class _LLM:
    async def generate(self, query: str, context: list[str]) -> str:
        return f"answer to {query!r} using {len(context)} sources"


db = _DB()
payment_service = _Payments()
vector_db = _VectorDB()
search_api = _SearchAPI()
llm = _LLM()


# --- Quick start: checkout ------------------------------------------------------------------


@dataclass
class OrderScore(Score):
    order_id: str
    items: list = None  # type: ignore[assignment]
    total: float = 0.0
    status: str = "pending"


@note
async def fetch_items(score: OrderScore):
    # Fetch order items from database
    score.items = await db.get_items(score.order_id)


@note
async def calculate_total(score: OrderScore):
    score.total = sum(item.price for item in score.items)


@note
async def process_payment(score: OrderScore):
    await payment_service.charge(score.order_id, score.total)
    score.status = "paid"


async def test_quick_start_checkout() -> None:
    """The checkout example fetches, totals and charges, returning the same score."""
    cadence = (
        Cadence("checkout", OrderScore(order_id="ORD-123"))
        .then("fetch_items", fetch_items)
        .then("calculate_total", calculate_total)
        .then("process_payment", process_payment)
    )
    result = await cadence.run()
    assert f"Order {result.order_id}: {result.status}" == "Order ORD-123: paid"
    assert result.total == 15.5
    assert ("ORD-123", 15.5) in payment_service.charged


# --- Quick start: RAG ------------------------------------------------------------------------


@dataclass
class RAGScore(Score):
    query: str
    context: list = field(default_factory=list)
    answer: str = ""


@note(timeout=5.0)
async def retrieve(score: RAGScore):
    score.context = await vector_db.search(score.query)


@note(fallback={"default": [], "field": "context"}, timeout=10.0)
async def web_search(score: RAGScore):
    score.context += await search_api.query(score.query)


@note(retry={"max_attempts": 3, "backoff": "exponential"}, timeout=30.0)
async def generate(score: RAGScore):
    score.answer = await llm.generate(score.query, context=score.context)


async def test_quick_start_rag_merges_both_retrievers() -> None:
    """One task assigns context, the other extends it: the merge keeps both results."""
    rag = (
        Cadence("rag", RAGScore(query="What is Cadence?"))
        .sync("retrieve", [retrieve, web_search])  # parallel retrieval
        .then("generate", generate)  # LLM call with retry + timeout
    )
    result = await rag.run()
    assert result.context == ["doc about What is Cadence?", "web result for What is Cadence?"]
    assert result.answer == "answer to 'What is Cadence?' using 2 sources"


# --- Sequential / Parallel / Branching ----------------------------------------------------


@dataclass
class MyScore(Score):
    trail: list = field(default_factory=list)
    errors: list = field(default_factory=list)


async def do_first(score: MyScore) -> None:
    score.trail.append("first")


def do_second(score: MyScore) -> None:
    score.trail.append("second")


async def do_third(score: MyScore) -> None:
    score.trail.append("third")


async def test_sequential() -> None:
    """Notes run one after another, sync and async alike."""
    cadence = (
        Cadence("process", MyScore())
        .then("note1", do_first)
        .then("note2", do_second)
        .then("note3", do_third)
    )
    assert (await cadence.run()).trail == ["first", "second", "third"]


@dataclass
class UserScore(Score):
    user_id: str
    profile: dict = field(default_factory=dict)
    preferences: dict = field(default_factory=dict)
    history: list = field(default_factory=list)
    summary: str = ""


async def fetch_profile(score: UserScore) -> None:
    await asyncio.sleep(0.01)
    score.profile = {"name": "Ada"}


def fetch_preferences(score: UserScore) -> None:
    score.preferences["theme"] = "dark"


async def fetch_history(score: UserScore) -> None:
    score.history.extend(["order-1", "order-2"])


async def combine_data(score: UserScore) -> None:
    score.summary = f"{score.profile['name']}/{score.preferences['theme']}/{len(score.history)}"


async def test_parallel() -> None:
    """Independent tasks run concurrently and their changes are merged."""
    cadence = (
        Cadence("enrich", UserScore(user_id="123"))
        .sync(
            "fetch_data",
            [
                fetch_profile,
                fetch_preferences,
                fetch_history,
            ],
        )
        .then("merge_results", combine_data)
    )
    assert (await cadence.run()).summary == "Ada/dark/2"


@dataclass
class RouteScore(Score):
    premium: bool = False
    steps: list = field(default_factory=list)


def validate_order(score: RouteScore) -> None:
    score.steps.append("validate")


async def is_premium_customer(score: RouteScore) -> bool:
    return score.premium


def priority_processing(score: RouteScore) -> None:
    score.steps.append("priority")


async def express_shipping(score: RouteScore) -> None:
    score.steps.append("express")


def standard_processing(score: RouteScore) -> None:
    score.steps.append("standard")


async def regular_shipping(score: RouteScore) -> None:
    score.steps.append("regular")


async def send_confirmation(score: RouteScore) -> None:
    score.steps.append("confirm")


@pytest.mark.parametrize(
    ("premium", "expected"),
    [
        (True, ["validate", "priority", "express", "confirm"]),
        (False, ["validate", "standard", "regular", "confirm"]),
    ],
)
async def test_branching(premium: bool, expected: list[str]) -> None:
    """The condition picks a branch; the branch's tasks run in order."""
    cadence = (
        Cadence("order", RouteScore(premium=premium))
        .then("validate", validate_order)
        .split(
            "route",
            condition=is_premium_customer,
            if_true=[priority_processing, express_shipping],
            if_false=[standard_processing, regular_shipping],
        )
        .then("confirm", send_confirmation)
    )
    assert (await cadence.run()).steps == expected


# --- Composition -----------------------------------------------------------------------------


@dataclass
class PaymentScore(Score):
    amount: float = 0.0
    transaction_id: str = ""


@dataclass
class ShippingScore(Score):
    tracking: str = ""


@dataclass
class CheckoutScore(Score):
    total: float = 0.0
    transaction_id: str = ""
    tracking: str = ""
    done: bool = False


async def charge_card(score: PaymentScore) -> None:
    score.transaction_id = "tx-42"


async def book_courier(score: ShippingScore) -> None:
    score.tracking = "TRK-7"


def prepare_order(score: CheckoutScore) -> None:
    score.total = 99.0


def merge_payment(parent: CheckoutScore, child: PaymentScore) -> None:
    parent.transaction_id = child.transaction_id


async def merge_shipping(parent: CheckoutScore, child: ShippingScore) -> None:
    parent.tracking = child.tracking


async def finalize_order(score: CheckoutScore) -> None:
    score.done = bool(score.transaction_id and score.tracking)


async def test_composition() -> None:
    """Child cadences run on their own scores and merge results into the parent."""
    payment_cadence = Cadence("payment", PaymentScore()).then("charge", charge_card)
    shipping_cadence = Cadence("shipping", ShippingScore()).then("book", book_courier)
    checkout_cadence = (
        Cadence("checkout", CheckoutScore())
        .then("prepare", prepare_order)
        .child("process_payment", payment_cadence, merge_payment)
        .child("arrange_shipping", shipping_cadence, merge_shipping)
        .then("complete", finalize_order)
    )
    result = await checkout_cadence.run()
    assert (result.transaction_id, result.tracking, result.done) == ("tx-42", "TRK-7", True)
    assert payment_cadence.score.transaction_id == "", "the child's template score is untouched"


# --- Immutable score / Atomic types ---------------------------------------------------------


@dataclass(frozen=True)
class Config(ImmutableScore):
    api_key: str
    timeout: int = 30


def test_immutable_score() -> None:
    """with_field returns a changed copy and leaves the original alone."""
    config = Config(api_key="k")
    # Create new score with changes
    new_config = config.with_field("timeout", 60)
    assert (config.timeout, new_config.timeout, new_config.api_key) == (30, 60, "k")
    assert config.replace(api_key="z").api_key == "z"
    with pytest.raises(AttributeError, match="no field 'nope'"):
        config.with_field("nope", 1)


@dataclass
class AggregatorScore(Score):
    results: AtomicList = None  # type: ignore[assignment]
    cache: AtomicDict = None  # type: ignore[assignment]

    def __post_init__(self):
        super().__post_init__()
        self.results = AtomicList()
        self.cache = AtomicDict()


async def test_atomic_types_shared_by_parallel_tasks() -> None:
    """Atomic containers are shared (not isolated) across .sync tasks, and updates are safe."""
    score = AggregatorScore()
    new_result, value = "r", "v"
    # Safe concurrent updates
    score.results.append(new_result)
    score.cache["key"] = value

    def make(i: int):
        async def task(s: AggregatorScore) -> None:
            s.results.append(i)
            s.cache[f"k{i}"] = i

        task.__name__ = f"task{i}"
        return task

    await Cadence("agg", score).sync("fan", [make(i) for i in range(20)]).run()
    assert sorted(x for x in score.results if isinstance(x, int)) == list(range(20))
    assert len(score.cache) == 21 and "key" in score.cache and score.cache["k3"] == 3


# --- Error handling ---------------------------------------------------------------------------


async def risky_operation(score: MyScore) -> None:
    raise ValueError("boom")


async def cleanup(score: MyScore) -> None:
    score.trail.append("cleanup")


async def test_error_handling_continue() -> None:
    """on_error(stop=False) hands the NoteError to the handler and the run continues."""

    async def handle_error(score, error):
        if isinstance(error, NoteError):
            logger.error(f"Note {error.note_name} failed: {error}")
            score.errors.append(str(error))

    cadence = (
        Cadence("handled", MyScore())
        .then("risky", risky_operation)
        .on_error(handle_error, stop=False)  # Continue on error
        .then("cleanup", cleanup)
    )
    result = await cadence.run()
    assert result.trail == ["cleanup"]
    assert result.errors == ["[NOTE_ERROR] note 'risky' failed: ValueError: boom"]


async def test_parallel_note_error_names_the_task() -> None:
    """A failing .sync task surfaces as ParallelNoteError with its name, index and group."""

    async def ok(score: MyScore) -> None:
        await asyncio.sleep(0.05)

    async def bad(score: MyScore) -> None:
        raise KeyError("missing")

    cadence = Cadence("p", MyScore()).sync("fetch", [ok, bad])
    try:
        await cadence.run()
    except ParallelNoteError as e:
        message = (
            f"Task '{e.note_name}' (index {e.task_index}) "
            f"in group '{e.group_name}' failed: {e.original_error}"
        )
        caught: Exception = e
    assert message == "Task 'bad' (index 1) in group 'fetch' failed: 'missing'"
    assert isinstance(caught, CadenceError)


def test_standalone_decorators_are_exported() -> None:
    """retry, timeout and fallback are importable from cadence, as the seed shows."""
    assert callable(retry) and callable(timeout) and callable(fallback)
