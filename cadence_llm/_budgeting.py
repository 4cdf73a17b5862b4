"""Charging model requests and tool calls to the budgets of the runs they belong to.

The accounts themselves live in the core (:mod:`cadence.budget`); this module knows what a
request may cost before it is sent. A request reserves one request, its declared
``max_tokens`` of output and the price of that output; input tokens are known only from the
provider's answer, so they count from the answer on (an input or total-token limit that a call
passed stops the next call). Without a budget in force every function here returns at once.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

from cadence import current_note
from cadence.budget import BudgetAccount, Hold, Spend, current_accounts
from cadence.exceptions import CadenceError

from .messages import ModelRequest, ModelResponse, Usage

__all__ = [
    "charge_recorded",
    "report_charge",
    "reserve_request",
    "reserve_tool_calls",
    "settle_quietly",
    "settle_request",
    "settle_tool_calls",
    "settle_tool_calls_quietly",
    "where",
]

logger = logging.getLogger("cadence_llm.budget")


def where() -> str | None:
    """The step making the current call, as budget errors name it."""
    scope = current_note()
    if scope is None:
        return None
    text = f"step {scope.note_name!r}"
    if scope.group is not None:
        text += f" of group {scope.group!r}"
    return f"{text} of cadence {scope.cadence_name!r}"


def _price(account: BudgetAccount, model: str, usage: Usage) -> float | None:
    prices = account.budget.prices
    if prices is None:
        return 0.0
    cost = prices.cost(model, usage)
    return None if cost is None else float(cost)


def _release(holds: Sequence[Hold]) -> None:
    for hold in holds:
        hold.account.settle(hold, Spend())


def reserve_request(model: str, request: ModelRequest) -> list[Hold] | None:
    """Reserve a request to ``model`` on every budget in force, or refuse it.

    Raises:
        BudgetExceededError: a budget has no room for the request.
        CadenceError: a budget limits cost but its prices have none for ``model``
            (``BUDGET_UNPRICED_MODEL``): the limit could not be enforced.
    """
    accounts = current_accounts()
    if not accounts:
        return None
    declared = request.max_tokens or 0
    step = where()
    holds: list[Hold] = []
    try:
        for account in accounts:
            cost = _price(account, model, Usage(output_tokens=declared))
            if cost is None:
                if account.budget.cost is not None:
                    raise CadenceError(
                        f"budget of {account.owner!r} limits cost, but its prices have none for "
                        f"model {model!r}, so the limit cannot be enforced; add {model!r} to the "
                        "PriceTable",
                        code="BUDGET_UNPRICED_MODEL",
                        details={"model": model, "owner": account.owner},
                    )
                cost = 0.0
            amount = Spend(requests=1, output_tokens=declared, cost=cost)
            what = f"a request to {model!r}" + (f" (max_tokens={declared})" if declared else "")
            holds.append(account.reserve(amount, what=what, step=step))
    except BaseException:
        _release(holds)
        raise
    return holds


def settle_quietly(holds: list[Hold] | None, model: str, response: ModelResponse | None) -> Spend:
    """Charge what the request used (only the request itself when it failed); no hooks."""
    usage = response.usage if response is not None else Usage()
    charge = Spend()
    for hold in holds or ():
        cost = None
        if response is not None:
            cost = _price(hold.account, response.model or model, usage)
            if cost is None:  # a dated name the table lacks: the price of the name asked for
                cost = _price(hold.account, model, usage)
            if cost is None:
                _unpriced(hold.account, model)
        charge = Spend(
            requests=1,
            input_tokens=usage.input_tokens,
            output_tokens=usage.output_tokens,
            cached_tokens=usage.cached_tokens,
            cost=cost or 0.0,
        )
        hold.account.settle(hold, charge)
    return charge


async def settle_request(
    holds: list[Hold] | None, model: str, response: ModelResponse | None
) -> None:
    """Charge what the request used and report it to the run's hooks (``on_spend``)."""
    if holds:
        await report_charge(holds, settle_quietly(holds, model, response))


async def report_charge(holds: list[Hold] | None, charge: Spend) -> None:
    """Report a charge :func:`settle_quietly` made on ``holds`` to the run's hooks (``on_spend``).

    For a caller that must settle at once but report later, when it can await (a stream cut
    short, settled while it is being closed).
    """
    if holds:
        await _report(holds[-1].account, charge)


async def charge_recorded(model: str, response: ModelResponse) -> None:
    """Charge a model answer reused from a record (an interrupted turn's) without a check.

    The request was sent and paid for before the interruption, but its charge went with the
    unfinished turn (budgets are checkpointed with finished steps), so the resumed run counts it
    again -- once -- without refusing it: it cannot be unsent.
    """
    accounts = current_accounts()
    if accounts:
        await settle_request([Hold(account, Spend()) for account in accounts], model, response)


def reserve_tool_calls(count: int) -> list[Hold] | None:
    """Reserve ``count`` tool calls of one turn on every budget in force, or refuse them all."""
    accounts = current_accounts()
    if not accounts or count == 0:
        return None
    step = where()
    holds: list[Hold] = []
    try:
        for account in accounts:
            what = f"{count} tool call{'s' if count != 1 else ''}"
            holds.append(account.reserve(Spend(tool_calls=count), what=what, step=step))
    except BaseException:
        _release(holds)
        raise
    return holds


def settle_tool_calls_quietly(holds: list[Hold] | None) -> None:
    """Charge the reserved tool calls (they ran, whatever their outcome); no hooks."""
    for hold in holds or ():
        hold.account.settle(hold, hold.amount)


async def settle_tool_calls(holds: list[Hold] | None) -> None:
    """Charge the reserved tool calls and report it to the run's hooks (``on_spend``)."""
    if holds:
        settle_tool_calls_quietly(holds)
        await _report(holds[-1].account, holds[-1].amount)


def _unpriced(account: BudgetAccount, model: str) -> None:
    """Note (and log once) a model the budget's prices lack: its cost is counted as 0."""
    if model in account.unpriced_models:
        return
    account.unpriced_models.add(model)
    logger.warning(
        "budget of %r has no price for model %r: its calls are charged a cost of 0, so the "
        "run's spend.cost is an underestimate; add %r to the budget's PriceTable",
        account.owner,
        model,
        model,
    )


async def _report(account: BudgetAccount, charge: Spend) -> None:
    scope = current_note()
    hooks = scope.hooks if scope is not None else account.hooks
    if hooks is not None:
        await hooks.on_spend(scope.note_name if scope else account.owner, charge, account.spent)
