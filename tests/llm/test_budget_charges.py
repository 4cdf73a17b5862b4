"""Model requests against budgets: refusals that explain themselves, unpriced models made
visible, and reservations released on every way a call can end."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterator

import pytest

from cadence import Budget, BudgetExceededError
from cadence.budget import BudgetAccount, enter_accounts, exit_accounts
from cadence_llm import (
    FallbackChain,
    FunctionModel,
    ModelRequest,
    ModelResponse,
    Price,
    PriceTable,
    ScriptedModel,
    Usage,
)
from cadence_llm.errors import ServerError


@pytest.fixture
def accounts() -> Iterator[tuple[BudgetAccount, BudgetAccount]]:
    """A run-level account with an agent-level one inside it, both in force."""
    outer = BudgetAccount(Budget(requests=100, output_tokens=10_000), owner="request")
    inner = BudgetAccount(Budget(requests=100, output_tokens=10_000), owner="agent")
    tokens = [enter_accounts(outer), enter_accounts(inner)]
    yield outer, inner
    for token in reversed(tokens):
        exit_accounts(token)


def answers(name: str = "m") -> ScriptedModel:
    return ScriptedModel(
        [ModelResponse(text="one two three", usage=Usage(input_tokens=10, output_tokens=3))],
        name=name,
        repeat=True,
    )


async def test_a_request_refused_for_its_max_tokens_names_them() -> None:
    """The first request of a run, refused for the output it reserves, says how much it asked."""
    account = BudgetAccount(Budget(output_tokens=1000), owner="desk")
    token = enter_accounts(account)
    try:
        model = answers()
        with pytest.raises(BudgetExceededError) as info:
            await model.complete(ModelRequest.of("hi", max_tokens=4096))
    finally:
        exit_accounts(token)
    assert model.calls == 0
    assert (
        "a request to 'm' (max_tokens=4096) would take output_tokens to 4096, over the limit "
        "of 1000" in info.value.message
    )


async def test_a_model_the_budgets_prices_lack_is_logged_once_and_listed(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """With prices for reporting, a model missing from them is charged 0 and says so once."""
    prices = PriceTable({"priced": Price(input=1.0, output=1.0)})
    account = BudgetAccount(Budget(requests=10, prices=prices), owner="desk")
    token = enter_accounts(account)
    try:
        with caplog.at_level(logging.WARNING, logger="cadence_llm.budget"):
            await answers("unlisted").complete("hi")
            await answers("unlisted").complete("hi")
            await answers("priced").complete("hi")
    finally:
        exit_accounts(token)
    assert account.unpriced_models == {"unlisted"}
    warnings = [r.getMessage() for r in caplog.records if r.name == "cadence_llm.budget"]
    assert len(warnings) == 1 and "'unlisted'" in warnings[0] and "'desk'" in warnings[0]
    assert account.spent.cost == pytest.approx(13 / 1_000_000)


async def test_every_way_a_request_ends_releases_its_reservations(
    accounts: tuple[BudgetAccount, BudgetAccount],
) -> None:
    """Timeout, error, a chain switching models, a stream cut short or cancelled: nothing stays
    reserved on either nested budget, and both are charged every request sent."""

    async def hang(request: ModelRequest) -> ModelResponse:
        await asyncio.sleep(60)
        raise AssertionError("unreachable")

    async def fail(request: ModelRequest) -> ModelResponse:
        raise ServerError("503", provider="test", model="down")

    request = ModelRequest.of("hi", max_tokens=10)
    with pytest.raises(TimeoutError):
        async with asyncio.timeout(0.01):
            await FunctionModel(hang, name="slow").complete(request)
    with pytest.raises(ServerError):
        await FunctionModel(fail, name="down").complete(request)
    chain = FallbackChain([FunctionModel(fail, name="down"), answers("backup")], retry=1)
    assert (await chain.complete(request)).text == "one two three"
    stream = answers().stream(request)
    async for _ in stream:
        break
    await stream.aclose()  # type: ignore[attr-defined]

    async def consume() -> None:
        async for _ in FunctionModel(hang, name="slow").stream(request):
            pass

    task = asyncio.create_task(consume())
    await asyncio.sleep(0.01)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    for account in accounts:
        assert account.reserved.requests == 0 and account.reserved.output_tokens == 0
        assert account.spent.requests == 6
