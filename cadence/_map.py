"""``.map``: run one note per item of a list known only at run time, a bounded number at once.

Each item runs on its own score -- a private copy of the item -- so items never see each other
or the parent, and nothing needs merging afterwards:
the results go into the ``into`` field as a list in *item* order, whatever order they finished
in. A note that returns ``None`` contributes its (possibly changed) item score.

Concurrency is a pool of ``min(concurrency, len(items))`` worker tasks pulling the next item
index, not one task per item waiting on a semaphore: 10,000 items with ``concurrency=16``
create 16 tasks, and at no instant are more than 16 items in flight.

Failure policy: ``"fail_fast"`` (default) cancels the items in flight, starts no new ones and
raises :class:`~cadence.exceptions.ParallelNoteError` naming the item's index;
``"collect"`` runs every item, leaves ``None`` in the failed items' result slots and writes one
:class:`ItemFailure` per failed item, in item order, into ``errors_into``.
"""

from __future__ import annotations

import asyncio
import copy
import inspect
import time
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from cadence._eager import start, wait_first_failure
from cadence._merge import is_frozen, isolate
from cadence._plan import MapStep, Task
from cadence.exceptions import (
    BudgetExceededError,
    CadenceDefinitionError,
    CadenceError,
    ParallelNoteError,
    Skip,
)

if TYPE_CHECKING:
    from cadence._observe._base import HooksManager

__all__ = [
    "COLLECT",
    "FAIL_FAST",
    "ON_ERROR",
    "ItemFailure",
    "check_map",
    "known_fields",
    "run_map",
    "write_field",
]

FAIL_FAST = "fail_fast"
COLLECT = "collect"
ON_ERROR = (FAIL_FAST, COLLECT)
"""The partial-failure policies ``.map(on_error=...)`` accepts."""

_to_thread = asyncio.to_thread


@dataclass(frozen=True, slots=True)
class ItemFailure:
    """One item of a ``.map(on_error="collect")`` step that failed.

    Plain data (no exception object) so a checkpointed score that holds it can be saved.

    Attributes:
        index: The item's position in the list.
        error_type: The exception's class name (``"ValueError"``).
        message: The exception's message.
        code: The ``CadenceError`` code when the error was one, else ``None``.
    """

    index: int
    error_type: str
    message: str
    code: str | None = None


# --- building -------------------------------------------------------------------------------


def _field_name(value: Any, option: str, where: str) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str) or not value.isidentifier():
        raise CadenceDefinitionError(
            f"{where}: {option} must be the name of a score field, got {value!r}; "
            f'e.g. {option}="results"'
        )
    return value


def known_fields(score: Any) -> set[str] | None:
    """The field names a score of this kind can hold, or ``None`` when that is open-ended."""
    fields = getattr(type(score), "__dataclass_fields__", None)
    if fields is not None:
        return set(fields)
    model_fields = getattr(type(score), "model_fields", None)
    if isinstance(model_fields, dict):
        return set(model_fields)
    return None


def check_map(
    step_name: str,
    items_from: Any,
    fn: Any,
    *,
    concurrency: Any,
    into: Any,
    on_error: Any,
    errors_into: Any,
    template: Any,
    make_task: Callable[[Any, str], Task],
) -> MapStep:
    """Validate ``.map(...)``'s arguments and build its step record (raises on the first mistake)."""
    where = f".map({step_name!r})"
    if isinstance(items_from, str):
        source: str | Task = _field_name(items_from, "items_from", where) or ""
    elif callable(items_from):
        source = make_task(items_from, f"{where}, items_from=...")
    else:
        raise CadenceDefinitionError(
            f'{where}: items_from must be a field name holding the list ("documents") or a '
            f"function score -> list, got {items_from!r}"
        )
    if callable(getattr(fn, "plan", None)) and callable(getattr(fn, "child", None)):
        raise CadenceDefinitionError(
            f"{where}: got Cadence {fn.name!r}; to run a cadence per item pass its run "
            f"method: .map({step_name!r}, ..., {fn.name}.run)"
        )
    per_item = make_task(fn, f"{where}, fn=...")
    if concurrency is not None and (
        isinstance(concurrency, bool) or not isinstance(concurrency, int) or concurrency < 1
    ):
        raise CadenceDefinitionError(
            f"{where}: concurrency must be an int >= 1 (items in flight at once) or None for "
            f"no limit, got {concurrency!r}"
        )
    if on_error not in ON_ERROR:
        raise CadenceDefinitionError(
            f"{where}: on_error must be {FAIL_FAST!r} (stop at the first failed item) or "
            f"{COLLECT!r} (run every item, record failures in errors_into=), got {on_error!r}"
        )
    into_name = _field_name(into, "into", where)
    errors_name = _field_name(errors_into, "errors_into", where)
    if on_error == COLLECT and errors_name is None:
        raise CadenceDefinitionError(
            f'{where}: on_error="collect" needs errors_into="<field>" to receive the failed '
            "items (a list of ItemFailure); without it failures would vanish"
        )
    if on_error == FAIL_FAST and errors_name is not None:
        raise CadenceDefinitionError(
            f'{where}: errors_into= is only filled with on_error="collect"; '
            'add on_error="collect" or drop errors_into='
        )
    if into_name is not None and into_name == errors_name:
        raise CadenceDefinitionError(f"{where}: into= and errors_into= must be different fields")
    known = known_fields(template)
    if known is not None:
        for option, field in (
            ("items_from", source if isinstance(source, str) else None),
            ("into", into_name),
            ("errors_into", errors_name),
        ):
            if field is not None and field not in known:
                raise CadenceDefinitionError(
                    f"{where}: {option}={field!r} is not a field of {type(template).__name__} "
                    f"(fields: {', '.join(sorted(known))})"
                )
    return MapStep(
        step_name,
        source,
        per_item,
        concurrency=concurrency,
        into=into_name,
        on_error=on_error,
        errors_into=errors_name,
    )


# --- running --------------------------------------------------------------------------------


def _read(score: Any, field: str) -> Any:
    return score[field] if isinstance(score, dict) else getattr(score, field)


def write_field(score: Any, field: str, value: Any) -> None:
    """Set a score's field: a key of a dict score, an attribute (frozen dataclasses and frozen
    pydantic models too: the caller writes on its own copy of those)."""
    if isinstance(score, dict):
        score[field] = value
    elif is_frozen(score):
        object.__setattr__(score, field, value)
    else:
        setattr(score, field, value)


async def _items(step: MapStep, score: Any) -> list[Any]:
    source = step.items_from
    if isinstance(source, str):
        value = _read(score, source)
        origin = f"field {source!r}"
    else:
        value = source.fn(score)
        if inspect.isawaitable(value):
            value = await value
        origin = f"{source.name}()"
    if isinstance(value, (str, bytes, dict)) or not isinstance(value, Iterable):
        raise CadenceError(
            f"map {step.name!r}: items_from ({origin}) must give a list of items, got "
            f"{type(value).__name__}",
            code="MAP_ITEMS_INVALID",
            details={"step": step.name},
        )
    return value if isinstance(value, list) else list(value)


Observe = Callable[[Task, Any, int], Awaitable[Any]]
"""Runs one item's task with the run's hooks around it: ``observe(task, item_score, index)``."""


def _caller(step: MapStep, observe: Observe | None) -> Callable[[Any, int], Awaitable[Any]]:
    """The coroutine function that runs the per-item note (or cadence) on one item score."""
    task = step.fn
    if observe is not None:  # hooks attached: the runner's own task wrapper reports each item

        def observed(item_score: Any, index: int) -> Awaitable[Any]:
            return observe(task, item_score, index)

        return observed
    call_fn = task.fn
    if task.is_async:

        async def call_async(item_score: Any, index: int) -> Any:
            return await call_fn(item_score)

        return call_async

    async def call_sync(item_score: Any, index: int) -> Any:
        result = await _to_thread(call_fn, item_score)
        if inspect.isawaitable(result):
            result = await result
        return result

    return call_sync


async def run_map(
    step: MapStep,
    score: Any,
    hooks: HooksManager | None,
    observe: Observe | None,
) -> Any:
    """Run a map step on ``score``: every item through ``step.fn``, results into ``step.into``."""
    items = await _items(step, score)
    count = len(items)
    results: list[Any] = [None] * count
    failures: list[ItemFailure] = []
    t0 = time.perf_counter()
    error: BaseException | None = None
    try:
        if hooks is not None:  # in the try: a run cancelled here still reports the group's end
            await hooks.before_group(
                step.name, "map", [f"{step.fn_name}[{i}]" for i in range(count)], score
            )
        if count:
            await _run_items(step, items, results, failures, _caller(step, observe))
        if is_frozen(score) and (step.into is not None or step.errors_into is not None):
            # A frozen score is never changed in place (it may be shared, a module constant):
            # the map's results go on a new instance, as a .sync group's merge does.
            score = copy.copy(score)
        if step.into is not None:
            write_field(score, step.into, results)
        if step.errors_into is not None:
            write_field(score, step.errors_into, failures)
    except BaseException as exc:
        error = exc
        raise
    finally:
        if hooks is not None:
            await hooks.after_group(step.name, "map", score, time.perf_counter() - t0, error)
    return score


async def _run_items(
    step: MapStep,
    items: list[Any],
    results: list[Any],
    failures: list[ItemFailure],
    call: Callable[[Any, int], Awaitable[Any]],
) -> None:
    first_failure: tuple[int, Exception] | None = None
    collect = step.on_error == COLLECT
    count = len(items)
    indices = iter(range(count))  # shared: each worker pulls the next item not yet started
    collected: dict[int, ItemFailure] = {}

    async def worker() -> None:
        nonlocal first_failure
        for index in indices:
            item = items[index]
            try:
                item_score = isolate(item)
                result = await call(item_score, index)
            except (Skip, BudgetExceededError):
                raise  # ends the run: never an item's failure to collect or wrap
            except Exception as exc:
                if not collect:
                    if first_failure is None:
                        first_failure = (index, exc)
                    raise
                collected[index] = ItemFailure(
                    index,
                    type(exc).__name__,
                    exc.message if isinstance(exc, CadenceError) else str(exc),
                    exc.code if isinstance(exc, CadenceError) else None,
                )
                continue
            results[index] = item_score if result is None else result

    loop = asyncio.get_running_loop()
    workers = min(count, step.concurrency or count)
    running: list[asyncio.Task[None]] = []
    try:
        for _ in range(workers):
            task = start(loop, worker())
            running.append(task)
            if task.done() and not task.cancelled() and task.exception() is not None:
                break  # the first item failed at once: start no further workers
        failed = await wait_first_failure(running)
    except BaseException:  # the run was cancelled: stop every item in flight
        await _cancel(running)
        raise
    if failed is not None:
        await _cancel(running)
        raised = asyncio.CancelledError() if failed.cancelled() else failed.exception()
        assert raised is not None
        if first_failure is None:
            raise raised  # Skip, a budget stop, cancellation and suspension propagate as they are
        index, exc = first_failure
        raise ParallelNoteError(
            f"item {index} of map {step.name!r} ({step.fn_name}) failed: "
            f"{type(exc).__name__}: {exc}",
            step.fn_name,
            step.name,
            index,
            exc,
            code=exc.code if isinstance(exc, CadenceError) else None,
            details={"item_index": index},
        )
    failures.extend(collected[i] for i in sorted(collected))


async def _cancel(running: list[asyncio.Task[None]]) -> None:
    for task in running:
        if not task.done():
            task.cancel()
    if running:
        await asyncio.gather(*running, return_exceptions=True)
