"""cadence.result: Ok / Err, as 0.7.2 documented them."""

from __future__ import annotations

import pytest

from cadence import Err, Ok, Result, err, ok
from cadence import result as result_module


def divide(a: int, b: int) -> Result[int, ZeroDivisionError]:
    if b == 0:
        return Err(ZeroDivisionError("division by zero"))
    return Ok(a // b)


def test_ok_holds_a_value() -> None:
    """Ok: is_ok, unwrap, unwrap_or and map act on the value."""
    value = divide(10, 2)
    assert value.is_ok() and not value.is_err()
    assert value.unwrap() == 5 and value.unwrap_or(0) == 5
    assert value.map(lambda v: v * 2) == Ok(10)


def test_err_holds_an_error_until_unwrapped() -> None:
    """Err: unwrap raises the held error, unwrap_or gives the default, map is a no-op."""
    failure = divide(1, 0)
    assert failure.is_err() and not failure.is_ok()
    assert failure.unwrap_or(-1) == -1
    assert failure.map(lambda v: v * 2) is failure
    with pytest.raises(ZeroDivisionError, match="division by zero"):
        failure.unwrap()


def test_helpers_and_module_path() -> None:
    """ok()/err() build the two kinds; the same names live in cadence.result."""
    error = RuntimeError("x")
    assert ok(1) == Ok(1) and err(error).error is error
    assert result_module.Ok is Ok and result_module.Err is Err


def test_results_are_frozen() -> None:
    """A result cannot be changed after it is made (safe to share between .sync tasks)."""
    with pytest.raises(AttributeError):
        Ok(1).value = 2  # type: ignore[misc]
