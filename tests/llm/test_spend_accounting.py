"""Honest spend accounting: unpriced ledgers, prices checked when built, cache keys and backends
that never cost a call more than it should."""

from __future__ import annotations

import asyncio
import logging
from decimal import Decimal
from fractions import Fraction

import pytest

from cadence.budget import Budget, BudgetAccount, enter_accounts, exit_accounts
from cadence_llm import (
    LocalModel,
    ModelRequest,
    ModelResponse,
    Price,
    PriceTable,
    ScriptedModel,
    TextDelta,
    Usage,
    track_usage,
)
from cadence_llm.cache import CachedModel, InMemoryResponseCache, RedisResponseCache, cache_key

from .conftest import FakeLlama

YES = 'root ::= "yes"'
NO = 'root ::= "no"'


def answers(model: str = "m") -> ScriptedModel:
    return ScriptedModel(
        [ModelResponse(text="ok", usage=Usage(input_tokens=10, output_tokens=5))],
        name=model,
        repeat=True,
    )


async def test_a_ledger_whose_calls_had_no_price_has_no_cost():
    """Calls the table cannot price (or made without a table) give cost None, not a free 0."""
    with track_usage(PriceTable({"other": Price(input=1.0, output=1.0)})) as unlisted:
        await answers().complete("hi")
    with track_usage() as no_table:
        await answers().complete("hi")
    with track_usage(PriceTable({"m": Price(input=1.0, output=1.0)})) as idle:
        pass
    assert unlisted.cost is None and unlisted.unpriced_models == {"m"}
    assert no_table.cost is None and no_table.usage.total_tokens == 15
    assert idle.cost == 0


async def test_a_partly_priced_ledger_sums_what_had_a_price():
    """With one priced and one unpriced model, cost is the priced part and names the other."""
    with track_usage(PriceTable({"m": Price(input=1.0, output=2.0)})) as ledger:
        await answers("m").complete("hi")
        await answers("unlisted").complete("hi")
    assert ledger.cost == pytest.approx((10 * 1.0 + 5 * 2.0) / 1_000_000)
    assert ledger.unpriced_models == {"unlisted"}


async def test_the_ledger_prices_an_unlisted_snapshot_as_the_name_asked_for():
    """A deployment answering with a snapshot name the table lacks costs the asked model's price,
    as a budget charges it."""
    deployment = ScriptedModel(
        [ModelResponse(text="ok", model="gpt-4o-2024-08-06", usage=Usage(output_tokens=1000))],
        name="my-gpt4o-deployment",
    )
    with track_usage(PriceTable({"my-gpt4o-deployment": Price(input=0, output=10.0)})) as ledger:
        await deployment.complete("hi")
    assert ledger.cost == pytest.approx(0.01)
    assert ledger.calls[0].model == "gpt-4o-2024-08-06"


async def test_decimal_and_float_prices_mix_and_cost_a_float():
    """A Decimal price next to a float one costs the call instead of failing after it was paid."""
    prices = PriceTable({"m": Price(input=Decimal("2.5"), output=10.0, cached_input=Fraction(1))})
    with track_usage(prices) as ledger:
        await answers().complete("hi")
    assert isinstance(ledger.cost, float)
    assert ledger.cost == pytest.approx((10 * 2.5 + 5 * 10.0) / 1_000_000)


@pytest.mark.parametrize(
    ("kwargs", "error"),
    [
        ({"input": "2.5", "output": 1.0}, TypeError),
        ({"input": 1.0, "output": None}, TypeError),
        ({"input": True, "output": 1.0}, TypeError),
        ({"input": -1.0, "output": 1.0}, ValueError),
        ({"input": 1.0, "output": float("nan")}, ValueError),
        ({"input": 1.0, "output": 1.0, "cached_input": float("inf")}, ValueError),
    ],
    ids=["text", "none", "bool", "negative", "nan", "inf"],
)
def test_a_price_that_is_not_a_finite_number_is_refused_when_built(kwargs, error):
    """Price names the field and the bad value when built, not at the first priced call."""
    with pytest.raises(error, match=r"Price\("):
        Price(**kwargs)


def local(text: str) -> LocalModel:
    return LocalModel("tiny", llama=FakeLlama(text))


def grammar(source: str) -> object:
    from llama_cpp import LlamaGrammar

    return LlamaGrammar.from_string(source, verbose=False)


def test_a_request_grammar_object_is_in_the_key():
    """Built grammars in extra key by their GBNF source: two grammars differ, one source is one."""
    model = local("x")
    yes, no = (ModelRequest.of("Ok?", extra={"grammar": grammar(g)}) for g in (YES, NO))
    again = ModelRequest.of("Ok?", extra={"grammar": grammar(YES)})
    as_text = ModelRequest.of("Ok?", extra={"grammar": YES})
    assert cache_key(model, yes) != cache_key(model, no)
    assert cache_key(model, yes) == cache_key(model, again) == cache_key(model, as_text)


async def test_requests_with_different_grammars_get_their_own_answers():
    """Through one cache, a request constrained by another grammar reaches the model."""
    llama = FakeLlama("yes")
    model = CachedModel(LocalModel("tiny", llama=llama), InMemoryResponseCache())
    await model.complete(ModelRequest.of("Ok?", extra={"grammar": grammar(YES)}))
    llama.text = "no"
    other = await model.complete(ModelRequest.of("Ok?", extra={"grammar": grammar(NO)}))
    assert other.text == "no" and len(llama.calls) == 2


async def test_a_request_extra_with_no_json_form_is_answered_uncached(caplog):
    """cache_key refuses an unkeyable extra by name; CachedModel calls the model and logs it."""
    request = ModelRequest.of("hi", extra={"client_state": object()})
    scripted = ScriptedModel(["first", "second"], name="m")
    cache = InMemoryResponseCache()
    model = CachedModel(scripted, cache)
    with pytest.raises(TypeError, match="cannot be cached"):
        cache_key(scripted, request)
    with caplog.at_level(logging.WARNING, logger="cadence_llm.cache"):
        assert (await model.complete(request)).text == "first"
        streamed = [e async for e in model.stream(request)]
    assert "".join(e.text for e in streamed if isinstance(e, TextDelta)) == "second"
    assert len(cache) == 0 and "cannot be cached" in caplog.text


async def test_an_abandoned_cached_stream_settles_its_budget_at_once():
    """Closing a CachedModel stream early closes the model's stream: its reservation is settled."""
    account = BudgetAccount(Budget(requests=5), owner="test")
    token = enter_accounts(account)
    try:
        model = CachedModel(
            ScriptedModel(["one two three four"], name="m"), InMemoryResponseCache()
        )
        events = model.stream(ModelRequest.of("hi", max_tokens=10))
        async for _ in events:
            break
        await events.aclose()  # type: ignore[attr-defined]
        assert account.reserved.requests == 0 and account.spent.requests == 1
    finally:
        exit_accounts(token)


@pytest.mark.parametrize("ttl", [float("nan"), float("inf"), "60", True])
def test_a_ttl_that_is_not_a_finite_number_of_seconds_is_refused(ttl):
    """ttl nan or inf (never expiring, or failing every Redis write) or not a number is refused."""
    with pytest.raises((TypeError, ValueError), match="ttl"):
        CachedModel(ScriptedModel(["x"]), InMemoryResponseCache(), ttl=ttl)


async def test_a_stalled_redis_gives_up_after_its_timeout(caplog):
    """A Redis that accepts connections but never answers costs the call its timeout, no more:
    the model answers and the failures are logged."""

    async def silent(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.read()  # hold the connection open, answer nothing
        writer.close()

    server = await asyncio.start_server(silent, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    cache = RedisResponseCache(f"redis://127.0.0.1:{port}/0", timeout=0.1)
    try:
        model = CachedModel(ScriptedModel(["fine"], name="m"), cache)
        with caplog.at_level(logging.WARNING, logger="cadence_llm.cache"):
            assert (await model.complete("hi")).text == "fine"
        assert "failed on get" in caplog.text and "failed on set" in caplog.text
    finally:
        await cache.aclose()
        server.close()
        await server.wait_closed()


def test_a_redis_timeout_must_be_positive():
    """timeout=0 or a non-number is refused when the cache is built."""
    for bad in (0, -1.0, "1", None):
        with pytest.raises(ValueError, match="timeout"):
            RedisResponseCache(timeout=bad)  # type: ignore[arg-type]
