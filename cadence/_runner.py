"""Executes a frozen :class:`~cadence._plan.Plan` on one score. This is the hot path.

The runner reads only the plan (``Cadence.plan()``), never the builder, so what a run executes
is fixed when it starts.

Design choices, each measured (see ``benchmarks/``):

* Sequential async steps are awaited directly, with no task per step; everything optional
  (hooks, reporters, checkpoints, timing) sits behind one ``is not None`` test, so a plain
  cadence pays a few attribute loads per step above a raw ``await``.
* Sync notes run in the default thread pool (``asyncio.to_thread``) so they never block the loop.
* ``.sync`` tasks each run in their own asyncio task on an isolated view of the score
  (see ``_merge``); the first failure cancels the rest; cancelling the run cancels them all.
* All run state lives in the run's frames: concurrent runs of one definition share nothing.
"""

from __future__ import annotations

import asyncio
import copy
import inspect
import logging
import time
import uuid
from collections.abc import Awaitable, Callable
from contextvars import Token
from inspect import isawaitable
from typing import Any

from cadence._context import NoteScope, note_var
from cadence._eager import start, wait_first_failure
from cadence._map import run_map
from cadence._merge import (
    Made,
    ViewFactory,
    collect_changes,
    get_state,
    is_frozen,
    isolate,
    merge_mapping,
    returned_changes,
)
from cadence._observe._base import (
    DONE,
    HooksManager,
    call_hook,
    hook_failed,
    is_stray_cancel,
    settle_hook,
)
from cadence._plan import (
    ChildStep,
    MapStep,
    Plan,
    SplitStep,
    Step,
    SyncStep,
    Task,
    ThenStep,
    WaitStep,
    refuse_waits_inside,
)
from cadence.budget import BudgetAccount, current_accounts, enter_accounts, exit_accounts
from cadence.budget import spend_from as _spend_from
from cadence.exceptions import (
    BudgetExceededError,
    CadenceDefinitionError,
    CadenceError,
    MergeConflict,
    NoteError,
    ParallelNoteError,
    Skip,
)

__all__ = ["run_plan"]

logger = logging.getLogger("cadence.runner")
_to_thread = asyncio.to_thread


class _Stop(Exception):
    """Internal: a ``can_interrupt`` step returned True, or a handler stopped the run.

    A handler's stop carries the score to end with (``args[0]``): the handler may have
    returned a new one (an ``ImmutableScore`` cannot record the error in place).
    """


NoteCalls = tuple[Callable[..., Any] | None, Callable[..., Any] | None, Callable[..., Any] | None]


class _Run:
    """Per-run state that steps other than the plain ``then`` path need."""

    __slots__ = ("_notes", "cadence_name", "hooks", "run_id")

    def __init__(self, cadence_name: str, run_id: str | None, hooks: HooksManager | None) -> None:
        self.cadence_name = cadence_name
        self.run_id = run_id
        self.hooks = hooks
        self._notes: NoteCalls | None = None

    def note_calls(self) -> NoteCalls:
        """The run's ``(before_note, after_note on success, after_note on failure)``, asked of
        the hooks once per run (``HooksManager.note_callers``)."""
        notes = self._notes
        if notes is None:
            hooks = self.hooks
            notes = self._notes = hooks.note_callers() if hooks is not None else (None, None, None)
        return notes

    def scope(
        self, note: str, group: str | None, index: int | None, score: Any, started: float = 0.0
    ) -> NoteScope:
        return NoteScope(
            self.cadence_name, self.run_id, note, group, index, self.hooks, score, started
        )


def _code_of(exc: BaseException) -> str | None:
    return exc.code if isinstance(exc, CadenceError) else None


def _wrap(exc: Exception, note_name: str, group: str | None = None) -> CadenceError:
    if isinstance(exc, NoteError | BudgetExceededError):  # a budget stops the run, not a note
        return exc
    where = f"note {note_name!r}" + (f" in {group!r}" if group else "")
    err = NoteError(
        f"{where} failed: {type(exc).__name__}: {exc}",
        note_name,
        exc,
        code=_code_of(exc),
        details={"group": group} if group else None,
    )
    return err


async def _call(task: Task, score: Any) -> Any:
    if task.is_async:
        return await task.fn(score)
    result = await _to_thread(task.fn, score)
    if inspect.isawaitable(result):  # a sync callable that returned a coroutine
        result = await result
    return result


async def _maybe_await(value: Any) -> Any:
    if inspect.isawaitable(value):
        return await value
    return value


def _adopt(score: Any, result: Any) -> Any:
    """A note that returns an instance of the score's class replaces the score.

    Not when the returned object is one the score already holds: for a dict score that is
    what ``score.setdefault(k, {})`` or ``score.get(k)`` return, and adopting it would drop
    every other key of the score.
    """
    if result is not None and result is not True and isinstance(result, type(score)):
        if _holds(score, result):
            return score
        return result
    return score


def _holds(score: Any, value: Any) -> bool:
    """Whether ``value`` is (the very object of) one of ``score``'s fields or keys."""
    if isinstance(score, dict):
        return any(v is value for v in score.values())
    try:
        fields = get_state(score).values()
    except Exception:  # an object whose state cannot be read: nothing to compare with
        return False
    return any(v is value for v in fields)


async def run_plan(
    plan: Plan[Any],
    score: Any,
    run_id: str | None = None,
    inherited: HooksManager | None = None,
) -> Any:
    """Run ``plan`` on ``score`` and return the final score.

    ``inherited`` are hooks of an enclosing run (a parent cadence, a tool-calling agent); they
    are called after the plan's own, and a hook attached to both is called once.
    """
    hooks = plan.hooks
    if inherited:
        own = hooks.hooks if hooks else ()
        extra = [h for h in inherited.hooks if not any(h is o for o in own)]
        if extra:
            hooks = HooksManager([*own, *extra])
    checkpoint = plan.checkpoint
    if run_id is None:
        run_id = plan.checkpoint_run_id
        if run_id is None and checkpoint is not None:
            run_id = uuid.uuid4().hex
    run = _Run(plan.name, run_id, hooks)

    # Inside a budgeted run every run is observed: the budget names the step that spends.
    if hooks is None and not plan.observed and not current_accounts():
        # Fast path: the common cadence without observers.
        try:
            for step in plan.steps:
                try:
                    if type(step) is ThenStep:
                        task = step.task
                        result = await task.fn(score) if task.is_async else await _call(task, score)
                        if result is not None:
                            if result is True and step.can_interrupt:
                                break
                            score = _adopt(score, result)
                    else:
                        score = await _STEP_RUNNERS[type(step)](step, score, run)
                except (Skip, _Stop):
                    break
                except Exception as exc:
                    score = await _handle_error(plan, run, step, score, exc)
        except _Stop as stop:
            if stop.args:
                score = stop.args[0]
        return score
    return await _run_observed(plan, run, score)


async def _run_observed(plan: Plan[Any], run: _Run, score: Any) -> Any:
    hooks = run.hooks
    name = plan.name
    checkpoint = plan.checkpoint
    # Fetched once per run: ``None`` when no hook implements the call (or wants it in this run:
    # ``CadenceHooks.wants_notes``), so it costs nothing. ``after_ok`` is for steps that end well.
    before_note, after_ok, after_note = run.note_calls()
    clock = time.perf_counter  # a local: read twice per step
    started = clock()
    session = None
    waits = None
    error: BaseException | None = None
    account, into = None, plan.budget_into
    # Checked before a checkpoint session takes the run's lease, so nothing is left held.
    if plan.budget is not None and into and not (isinstance(score, dict) or hasattr(score, into)):
        raise CadenceDefinitionError(
            f"cadence {name!r}: with_budget(into={into!r}) names a field the score "
            f"{type(score).__name__} does not have; add `{into}: Spend | None = None`"
        )
    if checkpoint is not None:
        from cadence._waits import enter_scope
        from cadence.checkpoint import open_session

        session = await open_session(
            checkpoint,
            cadence_name=name,
            run_id=run.run_id or "",
            score=score,
            step_names=list(plan.step_names),
            max_attempts=plan.checkpoint_max_attempts,
        )
        score = session.score
        waits = enter_scope(checkpoint, name, session.run_id)
    budget_token = None
    if plan.budget is not None:
        carried = _spend_from(getattr(score, into, None)) if into else None
        account = BudgetAccount(plan.budget, owner=name, spent=carried, hooks=hooks)
        budget_token = enter_accounts(account)
    token: Token[NoteScope | None] | None = None
    try:
        # Inside the try: a run cancelled while a hook's before_cadence awaits still gets its
        # after_cadence (with the CancelledError), so the hooks that saw it start (a gauge, a
        # span) see it end. Called, as after_cadence is, outside the run's own scope.
        if hooks is not None and (pending := _run_hook(hooks, "before_cadence", name, score)):
            await pending
        # One scope for the run's sequential steps, updated in place per step (a group's tasks
        # get their own): hooks place each call by it, and checkpointed runs expose their run
        # id to notes through it (agents key turns by it).
        scope = run.scope("", None, None, score)
        token = note_var.set(scope)
        for index, step in enumerate(plan.steps):
            step_name = step.name
            if session is not None and step_name in session.completed:
                continue
            scope.note_name = step_name
            scope.score = score
            scope.started = t0 = clock()
            if before_note is not None:  # call_hook() inlined: this runs for every step
                try:
                    pending = before_note(step_name, score)
                    if pending is not None and pending is not DONE and isawaitable(pending):
                        await pending
                except Exception:
                    hook_failed(before_note, "before_note")
                except GeneratorExit:  # the run's coroutine is being closed: nothing may await
                    raise
                except BaseException as exc:
                    if is_stray_cancel(exc):  # not the run's cancellation: the hook failed
                        hook_failed(before_note, "before_note")
                    else:
                        # Cancelled while a hook awaits in before_note: the step still gets
                        # its end, as a step cancelled mid-call does, so what hooks opened
                        # closes.
                        await _after_note(after_note, step_name, score, t0, exc)
                        raise
            try:
                if type(step) is ThenStep:
                    task = step.task
                    result = await task.fn(score) if task.is_async else await _call(task, score)
                    if result is not None:
                        if result is True and step.can_interrupt:
                            raise _Stop
                        score = _adopt(score, result)
                else:
                    score = await _STEP_RUNNERS[type(step)](step, score, run)
            except (Skip, _Stop) as stop:
                await _after_note(after_ok, step_name, score, t0)
                if session is not None and isinstance(stop, _Stop):
                    _write_spend(score, into, account)
                    await session.step_done(step_name, index, score)
                break
            except Exception as exc:
                err = _wrap(exc, step_name)
                await _after_note(after_note, step_name, score, t0, err)
                try:
                    score = await _handle_error(plan, run, step, score, err)
                except _Stop as stop:
                    if stop.args:
                        score = stop.args[0]
                    error = err
                    break
                except BaseException as final:
                    error = final
                    raise
                if session is not None:
                    # Handled: the run has moved past this step, so a resume must not run it
                    # again (after the steps that follow it) nor call the handler twice.
                    _write_spend(score, into, account)
                    await session.step_done(step_name, index, score)
                continue
            except BaseException as exc:  # cancelled mid-step: the step still gets its end
                await _after_note(after_note, step_name, score, t0, exc)
                raise
            if after_ok is not None:
                try:
                    pending = after_ok(step_name, score, clock() - t0)
                    if pending is not None and pending is not DONE and isawaitable(pending):
                        await pending
                except Exception:
                    hook_failed(after_ok, "after_note")
                except asyncio.CancelledError as exc:
                    if not is_stray_cancel(exc):
                        raise
                    hook_failed(after_ok, "after_note")
            if session is not None:
                _write_spend(score, into, account)
                await session.step_done(step_name, index, score)
    except BaseException as exc:
        error = exc
        raise
    finally:
        if token is not None:
            note_var.reset(token)
        total = time.perf_counter() - started
        _write_spend(score, into, account)
        try:
            try:
                if session is not None:
                    try:
                        await session.finish(error, score)
                    except BaseException:
                        if waits is not None:  # the run cannot park: close its wait scope
                            from cadence._waits import leave_scope

                            leave_scope(waits)
                        raise
                    if waits is not None:
                        from cadence._waits import after_run

                        await after_run(waits, error)
            except BaseException as store_error:
                # The store failed while closing the run (Redis down...): the hooks still
                # hear the run end, with that error, so gauges and spans are closed.
                if error is None:
                    error = store_error
                raise
            finally:
                if hooks is not None and (
                    pending := _run_hook(hooks, "after_cadence", name, score, total, error)
                ):
                    await pending
        finally:
            if budget_token is not None:
                exit_accounts(budget_token)
    return score


def _run_hook(hooks: HooksManager, method: str, *args: Any) -> Awaitable[None] | None:
    """Call a run-level hook (with one implementing hook, its method itself, no fan-out).

    Return what is left to await, or ``None`` when nothing is.
    """
    fn = hooks.caller(method)
    if fn is None:
        return None
    pending = call_hook(fn, method, *args)
    return None if pending is None else settle_hook(pending, fn, method)


def _write_spend(score: Any, into: str | None, account: BudgetAccount | None) -> None:
    """Put the run's spend into ``score.<into>`` (``with_budget(into=...)``)."""
    if into is None or account is None:
        return
    if isinstance(score, dict):
        score[into] = account.spent
    else:
        object.__setattr__(score, into, account.spent)


async def _after_note(
    after_note: Callable[..., Any] | None,
    note_name: str,
    score: Any,
    t0: float,
    error: BaseException | None = None,
) -> None:
    """Report the end of a step or task that stopped the run, failed or was cancelled."""
    if after_note is None:
        return
    duration = time.perf_counter() - t0
    if error is None:
        pending = call_hook(after_note, "after_note", note_name, score, duration)
    else:
        pending = call_hook(after_note, "after_note", note_name, score, duration, error)
    if pending is not None:
        await settle_hook(pending, after_note, "after_note")


async def _handle_error(
    plan: Plan[Any],
    run: _Run,
    step: Step,
    score: Any,
    exc: Exception,
) -> Any:
    """Route a failed step to hooks and the error handler; return the score to go on with.

    Raises the wrapped error when nobody handles it, ``_Stop`` when a handler stops the run.
    """
    err = _wrap(exc, step.name)
    hooks = run.hooks
    if hooks is not None and await hooks.on_error(step.name, score, err):
        return score
    handler = plan.error_handler
    if handler is None:
        if err is exc:
            raise err
        raise err from exc
    # A handler may return a new instance of the score's class, as a note may: an
    # ImmutableScore records the error that way.
    score = _adopt(score, await _maybe_await(handler(score, err)))
    if plan.stop_on_error:
        raise _Stop(score)
    return score


# --- compound steps -------------------------------------------------------------------------


async def _observed_task(run: _Run, task: Task, score: Any, group: str, index: int | None) -> Any:
    """Run one task of a group with hooks around it (only used when hooks are attached)."""
    before_note, after_ok, after_note = run.note_calls()
    t0 = time.perf_counter()
    token = note_var.set(run.scope(task.name, group, index, score, t0))
    try:
        if before_note is not None:
            pending = call_hook(before_note, "before_note", task.name, score)
            if pending is not None:
                await settle_hook(pending, before_note, "before_note")
        try:
            result = await _call(task, score)
        except Exception as exc:  # a task cancelled with its group gets none: after_group tells
            await _after_note(after_note, task.name, score, t0, exc)
            raise
        await _after_note(after_ok, task.name, score, t0)
    finally:
        note_var.reset(token)
    return result


async def _run_sync(step: SyncStep, score: Any, run: _Run) -> Any:
    hooks = run.hooks
    if isinstance(score, dict):
        # A mapping has no attributes to view lazily: each task gets a container-deep copy.
        base = dict(score)
        made: Made = {}  # the lists the copies made: appended ones keep every append
        views = [isolate(score, made) for _ in step.tasks]
    else:
        base = get_state(score)
        factory = ViewFactory(score, base)
        views = [factory.new() for _ in step.tasks]
    loop = asyncio.get_running_loop()
    t0 = time.perf_counter()
    error: BaseException | None = None
    running: list[tuple[int, asyncio.Task[Any]]] = []
    try:
        # Inside the try: a run cancelled while a hook awaits in before_group still reports
        # the group's end, as before_note and before_cadence do.
        if hooks is not None:
            await hooks.before_group(step.name, "sync", [t.name for t in step.tasks], score)
        for i, t in enumerate(step.tasks):
            if hooks is not None:
                coro = _observed_task(run, t, views[i], step.name, i)
            elif t.is_async:
                coro = t.fn(views[i])
            else:
                coro = _call(t, views[i])
            task = start(loop, coro)
            running.append((i, task))
            if task.done() and not task.cancelled() and task.exception() is not None:
                break  # failed in its first step: start no further tasks
        failed = await wait_first_failure([task for _, task in running])
    except BaseException as stop:  # cancellation of the run (or KeyboardInterrupt): stop every task
        await _cancel_all(running)
        if hooks is not None:  # the group's start gets its end, as for .split, .child and .map
            await hooks.after_group(step.name, "sync", score, time.perf_counter() - t0, stop)
        raise
    if failed is not None:
        index = next(i for i, task in running if task is failed)
        exc: BaseException = (
            asyncio.CancelledError() if failed.cancelled() else failed.exception()  # type: ignore[assignment]
        )
        error = _parallel_error(step, index, exc)
    if error is not None:
        await _cancel_all(running)
    else:
        try:
            if isinstance(score, dict):
                merge_mapping(score, base, _dict_versions(views, running), step.merge, made)
            else:
                snapshots, changes = _task_changes(score, base, views, running)
                if is_frozen(score) and any(changes):
                    score = copy.copy(score)  # a frozen score advances as a new object
                step.merge(score, snapshots, changes)
        except MergeConflict as conflict:
            error = NoteError(
                f"group {step.name!r}: {conflict.message}",
                step.name,
                conflict,
                code=conflict.code,
                details={"field": conflict.field},
            )
        except Exception as exc:  # a custom merge strategy's bug: the group still ends
            error = NoteError(
                f"group {step.name!r}: merge strategy {step.merge_name!r} failed: "
                f"{type(exc).__name__}: {exc}",
                step.name,
                exc,
                code=_code_of(exc),
            )
    if hooks is not None:
        await hooks.after_group(step.name, "sync", score, time.perf_counter() - t0, error)
    if error is not None:
        raise error
    return score


def _task_changes(
    score: Any,
    base: dict[str, Any],
    views: list[Any],
    running: list[tuple[int, asyncio.Task[Any]]],
) -> tuple[list[Any], list[dict[str, Any]]]:
    """Each task's version of the score and its changes: its view, or the instance of the
    score's class it returned (which wins over its view, as for ``.then``)."""
    snapshots, changes = list(views), []
    results = {i: task.result() for i, task in running}
    for i, view in enumerate(views):
        result = results.get(i)
        if result is not None and result is not view and isinstance(result, type(score)):
            snapshots[i] = result
            changes.append(returned_changes(result, base))
        else:
            changes.append(collect_changes(view, base))
    return snapshots, changes


def _dict_versions(
    views: list[Any], running: list[tuple[int, asyncio.Task[Any]]]
) -> list[dict[Any, Any]]:
    """Each task's version of a dict score: its copy, or a new dict it returned (as a task of
    a dataclass score may return a new instance, and a ``.then`` note a new dict)."""
    versions = list(views)
    for i, task in running:
        result = task.result()
        view = views[i]
        if isinstance(result, dict) and result is not view and not _holds(view, result):
            versions[i] = result
    return versions


async def _cancel_all(running: list[tuple[int, asyncio.Task[Any]]]) -> None:
    for _, task in running:
        if not task.done():
            task.cancel()
    if running:
        await asyncio.gather(*(task for _, task in running), return_exceptions=True)


def _parallel_error(step: SyncStep, index: int, exc: BaseException) -> BaseException:
    if isinstance(exc, Skip | BudgetExceededError) or getattr(exc, "suspends_run", False):
        return exc  # ends (or parks) the whole run, not a failure of the task
    task = step.tasks[index]
    return ParallelNoteError(
        f"task {task.name!r} (index {index}) of group {step.name!r} failed: "
        f"{type(exc).__name__}: {exc}",
        task.name,
        step.name,
        index,
        exc,
        code=_code_of(exc),
    )


async def _call_part(step: Step, part: str, fn: Callable[..., Any], *args: Any) -> Any:
    """Call (and await) one part of a compound step (a split's condition, a child's merge or
    score factory); its failure names the part, not only the step."""
    try:
        value = fn(*args)
        return await value if inspect.isawaitable(value) else value
    except (Skip, BudgetExceededError, NoteError):
        raise
    except Exception as exc:
        raise NoteError(
            f"{part} of step {step.name!r} failed: {type(exc).__name__}: {exc}",
            step.name,
            exc,
            code=_code_of(exc),
        ) from exc


async def _run_split(step: SplitStep, score: Any, run: _Run) -> Any:
    cond = step.condition
    value = await _call_part(step, f"the condition {cond.name!r}", cond.fn, score)
    branch = step.if_true if value else step.if_false
    hooks = run.hooks
    t0 = time.perf_counter()
    error: BaseException | None = None
    try:
        if hooks is not None:  # in the try: a run cancelled here still reports the group's end
            await hooks.before_group(step.name, "split", [t.name for t in branch], score)
        for task in branch:
            try:
                if hooks is not None:
                    result = await _observed_task(run, task, score, step.name, None)
                else:
                    result = await _call(task, score)
            except (Skip, BudgetExceededError, asyncio.CancelledError):
                raise
            except Exception as exc:
                raise _wrap(exc, task.name, step.name) from exc
            score = _adopt(score, result)
    except BaseException as exc:
        error = exc
        raise
    finally:
        if hooks is not None:
            await hooks.after_group(step.name, "split", score, time.perf_counter() - t0, error)
    return score


async def _run_child(step: ChildStep, score: Any, run: _Run) -> Any:
    child = step.cadence.plan()
    if child.waits:  # a wait added to the child after .child() took it
        refuse_waits_inside(child.steps, child.name, f".child({step.name!r})")
    if step.score is not None:
        child_score = await _call_part(step, "the child's score= factory", step.score, score)
    else:
        try:
            child_score = copy.deepcopy(child.score)
        except Exception as exc:  # a lock, a client, a connection in the child's score
            raise NoteError(
                f"child cadence {child.name!r} (step {step.name!r}) runs on a fresh deep copy of "
                f"its own score, and its {type(child.score).__name__} cannot be copied "
                f"({type(exc).__name__}: {exc}); build the child's score from the parent with "
                f".child({step.name!r}, ..., score=lambda parent: ...)",
                step.name,
                exc,
            ) from exc
    hooks = run.hooks
    t0 = time.perf_counter()
    error: BaseException | None = None
    try:
        if hooks is not None:  # in the try: a run cancelled here still reports the group's end
            await hooks.before_group(step.name, "child", child.step_names, score)
        try:
            child_run_id = run.run_id
            if child.checkpoint is not None and child_run_id is not None:
                # One child cadence may back several steps of a run: each step's child run gets
                # its own checkpoints and completion record, or the second step would replay
                # the first one's result without executing.
                child_run_id = f"{child_run_id}/{step.name}"
            child_result = await run_plan(child, child_score, child_run_id, inherited=hooks)
        except NoteError as exc:
            raise NoteError(
                f"child cadence {child.name!r} (step {step.name!r}) failed: {exc.message}",
                step.name,
                exc,
                code=exc.code,
                details={"child_note": exc.note_name},
            ) from exc
        merge = step.merge
        result = await _call_part(step, f"the merge {merge.name!r}", merge.fn, score, child_result)
        score = _adopt(score, result)
    except BaseException as exc:
        error = exc
        raise
    finally:
        if hooks is not None:
            await hooks.after_group(step.name, "child", score, time.perf_counter() - t0, error)
    return score


async def _run_map(step: MapStep, score: Any, run: _Run) -> Any:
    hooks = run.hooks
    if hooks is None:
        return await run_map(step, score, None, None)

    def observe(task: Task, item_score: Any, index: int) -> Any:
        return _observed_task(run, task, item_score, step.name, index)

    return await run_map(step, score, hooks, observe)


async def _run_wait(step: WaitStep, score: Any, run: _Run) -> Any:
    from cadence._waits import run_wait

    hooks = run.hooks
    if hooks is None:
        return await run_wait(step, score)
    t0 = time.perf_counter()
    error: BaseException | None = None
    try:
        await hooks.before_group(step.name, "wait", [], score)  # in the try, as for .sync
        score = await run_wait(step, score)
    except BaseException as exc:
        error = exc
        raise
    finally:
        await hooks.after_group(step.name, "wait", score, time.perf_counter() - t0, error)
    return score


_STEP_RUNNERS: dict[type, Callable[[Any, Any, _Run], Any]] = {
    SyncStep: _run_sync,
    SplitStep: _run_split,
    ChildStep: _run_child,
    MapStep: _run_map,
    WaitStep: _run_wait,
}
