"""Token usage and cost: per call, and summed over whatever a ``track_usage()`` block runs.

Prices change too often to ship, so cadence ships none: pass a :class:`PriceTable` of your
contracted prices. Every adapter reports each finished call to the ledgers active in the
current context, so a run, a request handler or a test can total what it spent without
threading a ledger through every call.
"""

from __future__ import annotations

import contextlib
import math
import numbers
import re
import threading
from collections.abc import Iterator, Mapping
from contextvars import ContextVar
from dataclasses import dataclass, field
from decimal import Decimal

from .messages import ModelResponse, Usage

__all__ = ["CallRecord", "Price", "PriceTable", "UsageLedger", "track_usage"]


@dataclass(frozen=True, slots=True)
class Price:
    """Prices in currency units per million tokens.

    Args:
        input: Price of a million uncached input tokens.
        output: Price of a million output tokens.
        cached_input: Price of a million cached input tokens (defaults to ``input``).
        cache_write: Price of a million input tokens written to the prompt cache (Anthropic
            bills 1.25x ``input`` for the 5-minute TTL, 2x for 1 hour; defaults to ``input``).
    """

    input: float
    output: float
    cached_input: float | None = None
    cache_write: float | None = None

    def __post_init__(self) -> None:
        # Checked here, not when a call is costed: by then the call was made and paid for, and
        # a bad price (a string; a Decimal next to a float, which cannot be added) would lose
        # its answer. Costs are floats, like Budget(cost=...); a Decimal or Fraction converts.
        for name in ("input", "output", "cached_input", "cache_write"):
            value = getattr(self, name)
            if value is None and name in ("cached_input", "cache_write"):
                continue
            if isinstance(value, bool) or not isinstance(value, numbers.Real | Decimal):
                raise TypeError(
                    f"Price({name}=...) must be a number (currency units per million tokens), "
                    f"got {value!r}"
                )
            number = float(value)
            if not math.isfinite(number) or number < 0:
                raise ValueError(f"Price({name}=...) must be a finite number >= 0, got {value!r}")
            object.__setattr__(self, name, number)

    def cost(self, usage: Usage) -> float:
        """What ``usage`` cost at these prices."""
        cached = min(usage.cached_tokens, usage.input_tokens)
        written = min(usage.cache_write_tokens, usage.input_tokens - cached)
        cached_price = self.input if self.cached_input is None else self.cached_input
        write_price = self.input if self.cache_write is None else self.cache_write
        return (
            (usage.input_tokens - cached - written) * self.input
            + cached * cached_price
            + written * write_price
            + usage.output_tokens * self.output
        ) / 1_000_000


# What a provider appends to a model's name for one snapshot of it: a date (2024-08-06,
# 20241022), a revision number (0613, 002), "latest", or a version (v2, v1:0), one or more
# times, after "-" or "@" (Vertex AI writes claude-3-5-sonnet-v2@20241022).
_VERSION_SUFFIX = re.compile(r"(?:[-@](?:\d{4}-\d{2}-\d{2}|\d{3,8}|latest|v\d+(?::\d+)?))+")


class PriceTable:
    """Model name → :class:`Price`; a snapshot's name matches its base entry.

    ``gpt-4o-2024-08-06``, ``claude-3-5-sonnet-20241022`` and ``claude-3-5-sonnet-latest`` are
    priced as ``gpt-4o`` and ``claude-3-5-sonnet``, but ``gpt-4o-mini`` or
    ``gpt-4o-audio-preview`` are other models, not priced as ``gpt-4o``: only a date, a revision
    number, ``latest`` or a version (``v2``, ``v1:0``) may follow the entry's name.

    Args:
        prices: Model names and their prices.
    """

    def __init__(self, prices: Mapping[str, Price]) -> None:
        if not isinstance(prices, Mapping):
            raise TypeError(f"PriceTable takes a mapping of model names to Price, got {prices!r}")
        for model, price in prices.items():
            if not callable(getattr(price, "cost", None)):
                raise TypeError(
                    f"PriceTable[{model!r}] must be a Price (per million tokens), got {price!r}; "
                    f"write PriceTable({{{model!r}: Price(input=2.5, output=10.0)}})"
                )
        self._prices = dict(prices)
        # Longest first: a dated entry ("gpt-4o-2024-05-13") beats its base for that snapshot.
        self._bases = sorted(self._prices, key=len, reverse=True)

    def price(self, model: str) -> Price | None:
        """The price for ``model``: an exact entry, else the longest entry that ``model`` is a
        snapshot of (the entry's name followed only by version suffixes)."""
        found = self._prices.get(model)
        if found is not None:
            return found
        for base in self._bases:
            if model.startswith(base) and _VERSION_SUFFIX.fullmatch(model, len(base)):
                return self._prices[base]
        return None

    def cost(self, model: str, usage: Usage) -> float | None:
        """What ``usage`` on ``model`` cost, or None when the table has no price for it."""
        price = self.price(model)
        return None if price is None else price.cost(usage)


@dataclass(frozen=True, slots=True)
class CallRecord:
    """One finished model call as a ledger saw it."""

    model: str
    system: str
    usage: Usage
    cost: float | None
    duration: float


@dataclass
class UsageLedger:
    """Calls recorded while a :func:`track_usage` block was active, and their totals.

    Args:
        prices: The price table used to cost each call; None records tokens only.
    """

    prices: PriceTable | None = None
    calls: list[CallRecord] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def record(
        self, response: ModelResponse, *, duration: float = 0.0, asked: str | None = None
    ) -> CallRecord:
        """Add one finished call (adapters call this for you).

        Args:
            response: The answer.
            duration: Seconds the call took.
            asked: The model name the request was sent to. When the table has no price for the
                name the provider answered with (a deployment's dated snapshot), the call is
                priced as the name asked for, as a budget prices it.
        """
        cost = None
        if self.prices is not None:
            cost = self.prices.cost(response.model, response.usage)
            if cost is None and asked and asked != response.model:
                cost = self.prices.cost(asked, response.usage)
        rec = CallRecord(response.model, response.system, response.usage, cost, duration)
        with self._lock:
            self.calls.append(rec)
        return rec

    @property
    def usage(self) -> Usage:
        """Tokens summed over every call."""
        total = Usage()
        for rec in list(self.calls):
            total = total + rec.usage
        return total

    @property
    def cost(self) -> float | None:
        """Cost summed over the calls that had a price; None when calls were made but none had
        one (no table, or none of its models), since 0 would read as "free".

        0 means no call was made (or every priced call cost nothing). When only some calls had
        a price, the sum is an underestimate: :attr:`unpriced_models` names the others.
        """
        calls = list(self.calls)
        priced = [rec.cost for rec in calls if rec.cost is not None]
        if calls and not priced:
            return None
        return sum(priced)

    @property
    def unpriced_models(self) -> set[str]:
        """Models called whose price the table lacks, so ``cost`` is an underestimate (or None
        when no call had a price)."""
        return {rec.model for rec in list(self.calls) if rec.cost is None}

    def by_model(self) -> dict[str, Usage]:
        """Tokens summed per model."""
        out: dict[str, Usage] = {}
        for rec in list(self.calls):
            out[rec.model] = out.get(rec.model, Usage()) + rec.usage
        return out


_ledgers: ContextVar[tuple[UsageLedger, ...]] = ContextVar("cadence_llm_ledgers", default=())


@contextlib.contextmanager
def track_usage(prices: PriceTable | None = None) -> Iterator[UsageLedger]:
    """Record every model call made inside the block (including in tasks it starts).

    Blocks nest: an inner block's calls are also counted by the outer one.

    Args:
        prices: Prices used to cost each call.
    """
    ledger = UsageLedger(prices)
    token = _ledgers.set((*_ledgers.get(), ledger))
    try:
        yield ledger
    finally:
        _ledgers.reset(token)


def record_call(response: ModelResponse, duration: float, asked: str | None = None) -> None:
    """Report a finished call to every active ledger (no-op when none is active)."""
    for ledger in _ledgers.get():
        ledger.record(response, duration=duration, asked=asked)
