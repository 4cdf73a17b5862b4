"""An ``.on_error`` handler that cannot be called as handler(score, error) fails when declared."""

from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import Any

import pytest

from cadence import Cadence, CadenceDefinitionError, Score, note


@dataclass
class S(Score):
    x: int = 0


def boom(score: S) -> None:
    raise ValueError("step failed")


def only_score(score: S) -> None:
    """A handler missing the error parameter."""


async def needs_more(score: S, error: BaseException, context: Any) -> None:
    """An async handler wanting a third argument the runner never passes."""


@note
def noted(score: S, error: BaseException) -> None:
    """A @note: called with the score alone, whatever its function takes."""


class OneArgCall:
    def __call__(self, score: S) -> None:
        """A callable object that takes only the score."""


@pytest.mark.parametrize(
    ("handler", "message"),
    [
        (
            only_score,
            r"\.on_error\(only_score\): cadence 'c' calls its handler as handler\(score, "
            r"error\) when a step fails, but only_score cannot take those arguments \(too many "
            r"positional arguments\); define it as def only_score\(score, error\)",
        ),
        (needs_more, r"needs_more cannot take those arguments \(missing a required argument"),
        (lambda: None, r"define it as def handler\(score, error\)"),
        (noted, r"a @note is called with the score alone: pass the plain function \(noted\.fn\)"),
        (OneArgCall(), "OneArgCall cannot take those arguments"),
    ],
)
def test_a_handler_that_cannot_take_score_and_error_is_refused_when_declared(
    handler: Any, message: str
) -> None:
    """It used to build and run, then raise TypeError on the error path, the worst moment."""
    with pytest.raises(CadenceDefinitionError, match=message) as caught:
        Cadence("c", S()).then("a", boom).on_error(handler)
    assert str(caught.value).endswith(
        "(usage: .on_error(handler, stop=True): handle a failing step)"
    )


@pytest.mark.parametrize(
    "handler",
    [
        lambda score, error: None,
        lambda *args: None,
        lambda score, error, extra=1: None,
        functools.partial(lambda tag, score, error: None, "tag"),
        functools.wraps(only_score)(lambda *args, **kwargs: None),  # a decorator's wrapper
        print,
    ],
)
def test_handlers_that_can_take_score_and_error_are_accepted(handler: Any) -> None:
    """Defaults, *args, partials and decorator wrappers (read by their own signature) pass."""
    cadence = Cadence("c", S()).then("a", boom).on_error(handler, stop=True)
    assert cadence.plan().error_handler is handler


async def test_an_accepted_handler_runs_on_the_error_path() -> None:
    """The check only reads the signature: the handler still gets (score, error)."""
    seen: list[tuple[S, BaseException]] = []
    score = S()
    await Cadence("c", score).then("a", boom).on_error(lambda s, e: seen.append((s, e))).run()
    assert len(seen) == 1 and seen[0][0] is score and "step failed" in str(seen[0][1])
