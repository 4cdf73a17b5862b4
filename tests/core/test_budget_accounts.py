"""BudgetAccount on its own: limits given as any number, reservations of any kind checked, float
costs that fit their limit, nothing left reserved once every call settled, clear refusals."""

from __future__ import annotations

from decimal import Decimal
from fractions import Fraction
from typing import Any

import pytest

from cadence import Budget, BudgetExceededError, CadenceDefinitionError, Spend
from cadence.budget import BudgetAccount


class Prices:
    """A price source that prices nothing (the account only needs one for a cost limit)."""

    def cost(self, model: str, usage: object) -> float | None:
        return None


def request(cost: float = 0.0, **fields: int) -> Spend:
    return Spend(requests=1, cost=cost, **fields)


def test_a_cost_limit_may_be_a_decimal_or_a_fraction() -> None:
    """Budget(cost=Decimal("0.5")) is accepted, as Price takes Decimals, and kept as a float."""
    assert Budget(cost=Decimal("0.5"), prices=Prices()).cost == 0.5
    budget = Budget(cost=Fraction(1, 4), prices=Prices())
    assert budget.cost == 0.25 and isinstance(budget.cost, float)
    assert Budget(requests=3).requests == 3


@pytest.mark.parametrize(
    ("kwargs", "fragment"),
    [
        ({"cost": float("nan")}, "cost"),
        ({"cost": float("inf")}, "cost"),
        ({"cost": Decimal("NaN")}, "cost"),
        ({"cost": -0.01}, "cost"),
        ({"cost": "0.5"}, "cost"),
        ({"requests": float("inf")}, "requests"),
        ({"total_tokens": Fraction(3)}, "total_tokens"),
        ({"input_tokens": -1}, "input_tokens"),
    ],
)
def test_limits_that_are_not_finite_numbers_at_least_0_are_refused(
    kwargs: dict[str, Any], fragment: str
) -> None:
    """NaN, infinity, negatives, text and a non-integer token count fail when built."""
    with pytest.raises(CadenceDefinitionError, match=rf"Budget\({fragment}=\.\.\.\) must be"):
        Budget(prices=Prices(), **kwargs)


def test_nothing_is_reserved_once_every_call_settled() -> None:
    """Costs settled in another order than reserved leave no float residue counted in flight."""
    account = BudgetAccount(Budget(cost=1.0, prices=Prices()), owner="desk")
    first = account.reserve(request(0.1), what="a request", step=None)
    second = account.reserve(request(0.2), what="a request", step=None)
    account.settle(first, Spend(requests=1))
    account.settle(second, Spend(requests=1))
    assert account.reserved == Spend()


def test_costs_that_add_up_to_the_limit_fit_it() -> None:
    """Calls costing 0.1 and 0.2 fit a cost limit of 0.3 (0.1 + 0.2 is 0.30000000000000004)."""
    account = BudgetAccount(Budget(cost=0.3, prices=Prices()), owner="desk")
    account.reserve(request(0.1), what="a request", step=None)
    account.reserve(request(0.2), what="a request", step=None)
    with pytest.raises(BudgetExceededError):
        account.reserve(request(0.01), what="a request", step=None)


def test_a_reservation_without_a_request_is_checked_against_what_it_adds() -> None:
    """A client billed by cost or tokens alone is refused past the limits it adds to."""
    priced = BudgetAccount(Budget(cost=1.0, prices=Prices()), owner="desk")
    with pytest.raises(BudgetExceededError) as info:
        priced.reserve(Spend(cost=5.0), what="an image", step=None)
    assert info.value.limit == "cost" and "an image would take cost to 5" in info.value.message
    tokens = BudgetAccount(Budget(input_tokens=10, requests=0), owner="desk")
    with pytest.raises(BudgetExceededError, match="input_tokens"):
        tokens.reserve(Spend(input_tokens=50), what="an embedding", step=None)
    tokens.settle(tokens.reserve(Spend(input_tokens=10), what="an embedding", step=None), Spend())


def test_a_tool_call_is_not_refused_by_a_used_up_token_limit() -> None:
    """A tool-call reservation is checked against the tool-call limit only."""
    account = BudgetAccount(Budget(input_tokens=10), owner="desk", spent=Spend(input_tokens=10))
    account.reserve(Spend(tool_calls=2), what="2 tool calls", step=None)
    assert account.reserved.tool_calls == 2


def test_a_used_up_limit_is_named_as_used_up() -> None:
    """A call refused because a limit is already reached says so, not that it would pass it."""
    account = BudgetAccount(
        Budget(input_tokens=100), owner="desk", spent=Spend(requests=1, input_tokens=100)
    )
    with pytest.raises(BudgetExceededError) as info:
        account.reserve(request(), what="a request to 'm'", step="step 'ask' of cadence 'desk'")
    err = info.value
    assert err.limit == "input_tokens" and err.maximum == 100 and err.spend.input_tokens == 100
    assert "over the limit" not in err.message
    assert (
        "budget of 'desk' exceeded in step 'ask' of cadence 'desk': input_tokens is at 100, so "
        "the limit of 100 is used up and a request to 'm' is refused" in err.message
    )
    assert "raise Budget(input_tokens=...)" in err.message
