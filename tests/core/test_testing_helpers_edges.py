"""Misuse of the public testing helpers: clear errors, and no fake clock left behind."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from cadence import clock
from cadence.testing import FakeClock, testing_mode


def test_nested_with_on_one_fake_clock_restores_the_real_clock() -> None:
    """Entering the same FakeClock twice and leaving both blocks puts the real clock back."""
    before = clock.current()
    fake = FakeClock()
    with fake:
        with fake:
            assert clock.current() is fake
        assert clock.current() is fake, "leaving the inner block keeps the outer one installed"
    assert clock.current() is before


@pytest.mark.parametrize("seconds", [float("nan"), "1", None, True])
def test_advance_refuses_a_value_that_is_not_seconds(seconds: Any) -> None:
    """advance() names the bad value instead of comparing it (NaN used to fire every timer)."""
    fake = FakeClock()
    fired: list[int] = []

    async def main() -> None:
        fake.call_later(asyncio.get_running_loop(), 100.0, lambda: fired.append(1))
        with pytest.raises(ValueError, match=r"FakeClock.advance needs a number of seconds"):
            fake.advance(seconds)
        await asyncio.sleep(0)

    asyncio.run(main())
    assert fired == [] and fake.now == 0.0


@pytest.mark.parametrize("bad", [FakeClock, object()])
def test_testing_mode_refuses_a_clock_that_is_not_a_fake_clock_instance(bad: Any) -> None:
    """testing_mode(clock=...) fails on entry, naming the value, not later inside a policy."""
    before = clock.current()
    with pytest.raises(TypeError, match=r"testing_mode\(clock=\.\.\.\) needs a FakeClock instance"):
        testing_mode(clock=bad).__enter__()
    assert clock.current() is before


def test_testing_mode_names_the_class_mistake() -> None:
    """Passing the FakeClock class itself gets a hint to instantiate it."""
    with pytest.raises(TypeError, match=r"pass FakeClock\(\)"):
        testing_mode(clock=FakeClock).__enter__()  # type: ignore[arg-type]
