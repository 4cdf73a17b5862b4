"""Per-run budgets: limits on model requests, tokens, cost and tool calls, shared by a whole run.

``Budget`` and ``Spend`` are also exported by ``cadence``; the accounts below are the seam for
code that makes billable calls (``cadence_llm``'s adapters, or your own client of a paid API):
reserve on every account of :func:`current_accounts` before the call, settle after it.

A :class:`Budget` is part of a definition (``Cadence.with_budget(Budget(requests=20))``); each
run opens its own :class:`BudgetAccount` and makes it the *current* account of everything the
run executes, through a context variable. Every model request and tool call made anywhere
inside the run -- nested agents, child cadences, ``.sync`` tasks, sync notes in threads --
charges that one account, so the count is shared by all branches instead of kept per branch
(the way budgets leak in frameworks that pass a counter down by hand). Accounts nest: a child
cadence or an agent with a budget of its own charges its account *and* every enclosing one.

A limit is checked *before* the call that would pass it. The caller first reserves what the call
may spend -- one request, the request's declared maximum of output tokens and its price (input
tokens are known only from the answer) -- and is refused with
:class:`~cadence.exceptions.BudgetExceededError` when what was spent, plus what calls in flight
reserved, plus this call would pass a limit. Concurrent calls see each other's reservations, so three agents of one ``.sync`` group cannot all slip under the last
bit of budget at once. When the call returns, its reservation is replaced by what it really
used. A model that honours ``max_tokens`` therefore never takes an output-token limit past it;
a request that declares no maximum reserves nothing for its output, so such a call can pass the
limit by what it returns (the limit then stops the *next* call).

The core knows nothing about models: ``cadence_llm`` reserves and settles model requests and
tool calls; prices come from ``Budget(prices=...)``, any object with ``cost(model, usage)``
(``cadence_llm.PriceTable``).
"""

from __future__ import annotations

import dataclasses
import math
import numbers
import threading
from contextvars import ContextVar, Token
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from cadence.exceptions import BudgetExceededError, CadenceDefinitionError

__all__ = [
    "Budget",
    "BudgetAccount",
    "Hold",
    "Spend",
    "current_accounts",
    "enter_accounts",
    "exit_accounts",
    "spend_from",
]

_LIMITS = ("requests", "input_tokens", "output_tokens", "total_tokens", "tool_calls", "cost")


@dataclass(frozen=True, slots=True)
class Spend:
    """What a run has used so far (or what one call used); also the unit of a reservation.

    Attributes:
        requests: Model requests made (failed ones included: they were sent).
        input_tokens: Prompt tokens, as providers report them.
        output_tokens: Generated tokens.
        cached_tokens: The part of ``input_tokens`` served from a provider cache.
        tool_calls: Tool calls run.
        cost: Currency units, from the budget's prices (0 without prices).
    """

    requests: int = 0
    input_tokens: int = 0
    output_tokens: int = 0
    cached_tokens: int = 0
    tool_calls: int = 0
    cost: float = 0.0

    @property
    def total_tokens(self) -> int:
        """Input plus output tokens."""
        return self.input_tokens + self.output_tokens

    def __add__(self, other: Spend) -> Spend:
        return Spend(
            self.requests + other.requests,
            self.input_tokens + other.input_tokens,
            self.output_tokens + other.output_tokens,
            self.cached_tokens + other.cached_tokens,
            self.tool_calls + other.tool_calls,
            self.cost + other.cost,
        )

    def __sub__(self, other: Spend) -> Spend:
        return Spend(
            self.requests - other.requests,
            self.input_tokens - other.input_tokens,
            self.output_tokens - other.output_tokens,
            self.cached_tokens - other.cached_tokens,
            self.tool_calls - other.tool_calls,
            self.cost - other.cost,
        )

    def amount(self, limit: str) -> float:
        """The value a limit named ``limit`` (a :class:`Budget` field) is compared with."""
        return float(getattr(self, limit))

    def describe(self) -> str:
        """A one-line summary for messages and logs."""
        text = (
            f"{self.requests} requests, {self.input_tokens} input + {self.output_tokens} output "
            f"tokens, {self.tool_calls} tool calls"
        )
        return text + (f", cost {self.cost:.6g}" if self.cost else "")


@dataclass(frozen=True, slots=True, kw_only=True)
class Budget:
    """Limits for one run; ``None`` means unlimited. Attach with ``Cadence.with_budget``.

    Args:
        requests: Model requests (each attempt of a fallback chain is one).
        input_tokens: Prompt tokens.
        output_tokens: Generated tokens.
        total_tokens: Input plus output tokens.
        tool_calls: Tool calls.
        cost: Currency units, computed with ``prices``.
        prices: Anything with ``cost(model_name, usage) -> float | None``, such as
            ``cadence_llm.PriceTable``; needed for a ``cost`` limit, and to report cost.
    """

    requests: int | None = None
    input_tokens: int | None = None
    output_tokens: int | None = None
    total_tokens: int | None = None
    tool_calls: int | None = None
    cost: float | None = None
    prices: Any = None

    def __post_init__(self) -> None:
        for name in _LIMITS:
            value = getattr(self, name)
            if value is None:
                continue
            # Any integer (numpy's too) counts, a cost may be any real number (a Decimal or a
            # Fraction, as Price takes); they are stored as int and float, the types they are
            # compared with.
            kinds: tuple[type, ...] = (
                (numbers.Real, Decimal) if name == "cost" else (numbers.Integral,)
            )
            number = isinstance(value, kinds) and not isinstance(value, bool)
            if not number or not math.isfinite(value) or value < 0:
                kind = "a number" if name == "cost" else "an int"
                raise CadenceDefinitionError(
                    f"Budget({name}=...) must be {kind} >= 0 or None (no limit), got {value!r}"
                )
            object.__setattr__(self, name, float(value) if name == "cost" else int(value))
        if self.prices is not None and not callable(getattr(self.prices, "cost", None)):
            raise CadenceDefinitionError(
                f"Budget(prices=...) needs an object with cost(model, usage), such as "
                f"cadence_llm.PriceTable, got {self.prices!r}"
            )
        if self.cost is not None and self.prices is None:
            raise CadenceDefinitionError(
                "Budget(cost=...) needs prices to compute cost: pass "
                "prices=cadence_llm.PriceTable({...})"
            )

    def limits(self) -> dict[str, float]:
        """The limits that are set, by name."""
        return {n: float(getattr(self, n)) for n in _LIMITS if getattr(self, n) is not None}


class Hold:
    """What one in-flight call reserved on one account; settled or released exactly once."""

    __slots__ = ("account", "amount", "open")

    def __init__(self, account: BudgetAccount, amount: Spend) -> None:
        self.account = account
        self.amount = amount
        self.open = True


class BudgetAccount:
    """The spend of one run against its :class:`Budget` (safe to use from several threads).

    Args:
        budget: The limits.
        owner: The cadence (or agent) the account belongs to, for messages.
        spent: Spend carried over, e.g. restored from a checkpoint when a run resumes.
        hooks: The run's hooks manager; charges are reported to it as ``on_spend``.

    Attributes:
        unpriced_models: Models called that ``budget.prices`` has no price for (filled in by
            ``cadence_llm``): their calls were charged a cost of 0, so ``spent.cost`` is an
            underestimate.
    """

    __slots__ = (
        "_holds",
        "_lock",
        "_reserved",
        "_spent",
        "budget",
        "hooks",
        "owner",
        "unpriced_models",
    )

    def __init__(
        self, budget: Budget, *, owner: str, spent: Spend | None = None, hooks: Any = None
    ) -> None:
        self.budget = budget
        self.owner = owner
        self.hooks = hooks
        self._spent = spent or Spend()
        self._reserved = Spend()
        self._holds: set[Hold] = set()  # the reservations not settled yet
        self.unpriced_models: set[str] = set()
        self._lock = threading.Lock()

    def __repr__(self) -> str:
        return f"BudgetAccount({self.owner!r}, spent={self._spent!r})"

    @property
    def spent(self) -> Spend:
        """What calls that finished used."""
        return self._spent

    @property
    def reserved(self) -> Spend:
        """What calls in flight reserved."""
        return self._reserved

    def reserve(self, amount: Spend, *, what: str, step: str | None) -> Hold:
        """Reserve ``amount`` for a call about to start, or refuse it.

        A model request (``amount.requests``) is checked against the request, token and cost
        limits, a tool call (``amount.tool_calls``) against the tool-call limit, and any call
        against every limit ``amount`` adds to (a client billed by cost alone reserves
        ``Spend(cost=...)``). A limit refuses the call when spent + reserved + ``amount`` would
        pass it, or when it is already used up (which is what stops a call that declared no
        maximum of output tokens). Costs are compared allowing for float rounding, so calls of
        0.1 and 0.2 fit a limit of 0.3.

        Raises:
            BudgetExceededError: naming the limit, the spend and ``step``.
        """
        touched = {limit for limit in _LIMITS if amount.amount(limit) > 0}
        if amount.requests:
            touched.update(("requests", "input_tokens", "output_tokens", "total_tokens", "cost"))
        with self._lock:
            committed = self._spent + self._reserved
            after = committed + amount
            for limit, maximum in self.budget.limits().items():
                if limit not in touched:
                    continue
                needed = after.amount(limit)
                used = committed.amount(limit)
                if limit == "cost" and math.isclose(needed, maximum, rel_tol=1e-9):
                    needed = maximum  # 0.1 + 0.2 fits a limit of 0.3
                if limit == "cost" and math.isclose(used, maximum, rel_tol=1e-9):
                    used = maximum
                if needed > maximum or used >= maximum:
                    raise _exceeded(self, limit, maximum, committed, needed, what, step)
            self._reserved = self._reserved + amount
            hold = Hold(self, amount)
            self._holds.add(hold)
            return hold

    def settle(self, hold: Hold, used: Spend) -> None:
        """Replace ``hold``'s reservation by what the call really used (idempotent)."""
        with self._lock:
            if not hold.open:
                return
            hold.open = False
            self._holds.discard(hold)
            # With nothing in flight nothing is reserved: subtracting float costs in another
            # order than they were added leaves a residue (2.8e-17) that would count as in flight.
            self._reserved = self._reserved - hold.amount if self._holds else Spend()
            self._spent = self._spent + used


def _exceeded(
    account: BudgetAccount,
    limit: str,
    maximum: float,
    committed: Spend,
    needed: float,
    what: str,
    step: str | None,
) -> BudgetExceededError:
    def show(value: float) -> str:
        return f"{value:.6g}" if limit == "cost" else str(int(value))

    where = f" in {step}" if step else ""
    in_flight = account.reserved.amount(limit)
    flight = f", {show(in_flight)} reserved by calls in flight" if in_flight else ""
    used = committed.amount(limit)
    if needed > used and needed > maximum:
        problem = f"{what} would take {limit} to {show(needed)}, over the limit of {show(maximum)}"
    else:  # the call adds nothing to this limit (input tokens, an undeclared max_tokens)
        problem = (
            f"{limit} is at {show(used)}, so the limit of {show(maximum)} is used up and "
            f"{what} is refused"
        )
    return BudgetExceededError(
        f"budget of {account.owner!r} exceeded{where}: {problem} (spent so far: "
        f"{account.spent.describe()}{flight}); raise Budget({limit}=...) or make the run "
        "cheaper",
        limit=limit,
        maximum=maximum,
        spend=account.spent,
        step=step,
        owner=account.owner,
        needed=needed,
        committed=committed.amount(limit),
    )


_accounts: ContextVar[tuple[BudgetAccount, ...]] = ContextVar("cadence_budgets", default=())


def current_accounts() -> tuple[BudgetAccount, ...]:
    """The accounts in force for the running code, outermost first (empty without budgets)."""
    return _accounts.get()


def enter_accounts(account: BudgetAccount) -> Token[tuple[BudgetAccount, ...]]:
    """Make ``account`` current (on top of the enclosing ones) until :func:`exit_accounts`."""
    return _accounts.set((*_accounts.get(), account))


def exit_accounts(token: Token[tuple[BudgetAccount, ...]]) -> None:
    """Undo :func:`enter_accounts`."""
    _accounts.reset(token)


def spend_from(value: Any) -> Spend | None:
    """``value`` as a :class:`Spend` (it is one, or a dict of its fields), else ``None``."""
    if isinstance(value, Spend):
        return value
    if isinstance(value, dict):
        names = {f.name for f in dataclasses.fields(Spend)}
        if value and set(value) <= names:
            return Spend(**value)
    return None
