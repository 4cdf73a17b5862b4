"""``Ok`` / ``Err``: a value or an error, returned instead of raised.

For notes and helpers that prefer to hand a failure back to the caller as data (a lookup that
may find nothing, a validation that collects its problem) rather than raise it::

    def parse_amount(text: str) -> Result[Decimal, ValueError]:
        try:
            return ok(Decimal(text))
        except InvalidOperation:
            return err(ValueError(f"not an amount: {text!r}"))

    amount = parse_amount(score.raw).unwrap_or(Decimal(0))

Both are frozen, so a result can be shared between ``.sync`` tasks and stored in a score.
The runner does not treat them specially: a note that returns an ``Err`` has not failed.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Generic, NoReturn, TypeAlias, TypeVar

__all__ = ["Err", "Ok", "Result", "err", "ok"]

T = TypeVar("T")
U = TypeVar("U")
E = TypeVar("E", bound=BaseException)


@dataclass(frozen=True, slots=True)
class Ok(Generic[T]):
    """A successful result holding ``value``."""

    value: T

    def is_ok(self) -> bool:
        """``True``: this is a success."""
        return True

    def is_err(self) -> bool:
        """``False``: this is not a failure."""
        return False

    def unwrap(self) -> T:
        """The value."""
        return self.value

    def unwrap_or(self, default: object) -> T:
        """The value (``default`` is only used by ``Err``)."""
        return self.value

    def map(self, fn: Callable[[T], U]) -> Ok[U]:
        """A new ``Ok`` holding ``fn(value)``."""
        return Ok(fn(self.value))


@dataclass(frozen=True, slots=True)
class Err(Generic[E]):
    """A failed result holding the exception ``error`` (not raised until ``unwrap``)."""

    error: E

    def is_ok(self) -> bool:
        """``False``: this is not a success."""
        return False

    def is_err(self) -> bool:
        """``True``: this is a failure."""
        return True

    def unwrap(self) -> NoReturn:
        """Raise the held error (a held value that is not an exception, ``err("not found")``,
        is raised as ``ValueError`` naming it, not as Python's bare ``TypeError``)."""
        error: object = self.error
        if isinstance(error, BaseException):
            raise error
        raise ValueError(
            f"unwrap() on Err({error!r}): the error is not an exception; "
            f"hold one, e.g. err(ValueError({error!r}))"
        )

    def unwrap_or(self, default: U) -> U:
        """``default``, since there is no value."""
        return default

    def map(self, fn: Callable[..., object]) -> Err[E]:
        """This same ``Err``: there is no value to map."""
        return self


Result: TypeAlias = Ok[T] | Err[E]
"""``Result[T, E]``: either ``Ok[T]`` or ``Err[E]``."""


def ok(value: T) -> Ok[T]:
    """Wrap ``value`` in an ``Ok``."""
    return Ok(value)


def err(error: E) -> Err[E]:
    """Wrap the exception ``error`` in an ``Err``."""
    return Err(error)
