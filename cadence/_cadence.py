"""The builder: ``Cadence(name, score).then(...).sync(...).split(...).child(...)``.

Each builder call validates its arguments and appends an immutable step, so a mistake fails
on the line that made it. ``plan()`` freezes the definition into a :class:`~cadence._plan.Plan`
and ``run()`` hands that plan to the runner, which never reads the builder itself; everything a
run changes lives in that run, so one definition can serve any number of concurrent runs.
"""

from __future__ import annotations

import asyncio
import copy
import sys
from collections.abc import Callable, Sequence
from datetime import timedelta
from typing import TYPE_CHECKING, Any, Generic, TypeVar

from cadence._callables import call_problem, note_name_of, task_of, tasks_of
from cadence._merge import MergeStrategy
from cadence._merge import _equal as _same_value
from cadence._observe._base import _METHODS as _HOOK_METHODS
from cadence._observe._base import HooksManager
from cadence._observe._reporter import CallableReporter
from cadence._plan import (
    ChildStep,
    Plan,
    SplitStep,
    Step,
    SyncStep,
    Task,
    ThenStep,
    WaitStep,
    refuse_waits_inside,
)
from cadence.exceptions import CadenceDefinitionError

if TYPE_CHECKING:
    from cadence.budget import Budget
    from cadence.checkpoint._waits import WaitRecord

__all__ = ["Cadence"]

S = TypeVar("S")

_CHECKPOINT_METHODS = (
    "save_checkpoint",
    "get_completed_measures",
    "get_last_score_state",
    "clear_checkpoints",
)


def _child_path(cadence: Cadence[Any], target: Cadence[Any]) -> list[str] | None:
    """The cadence names from ``cadence`` down to ``target`` through ``.child`` steps, if any."""
    stack: list[tuple[Cadence[Any], list[str]]] = [(cadence, [cadence.name])]
    seen: set[int] = set()
    while stack:
        current, path = stack.pop()
        if id(current) in seen:
            continue
        seen.add(id(current))
        for step in current.steps:
            if type(step) is ChildStep:
                if step.cadence is target:
                    return [*path, target.name]
                stack.append((step.cadence, [*path, step.cadence.name]))
    return None


def _misuse(method: str, message: str) -> CadenceDefinitionError:
    """A definition error for a DSL method, quoting its usage line from the DSL table."""
    from cadence._validate._grammar import METHODS

    row = METHODS.get(method)
    return CadenceDefinitionError(f"{message} (usage: .{row.summary})" if row else message)


def _hook_list(hooks: Any, where: str) -> list[Any]:
    if isinstance(hooks, HooksManager):  # e.g. the enclosing run's hooks: attach its members
        return list(hooks.hooks)
    # An empty list attaches nothing (as in 0.7.2): hooks often come from configuration.
    items = list(hooks) if isinstance(hooks, (list, tuple)) else [hooks]
    for h in items:
        if (
            h is None
            or isinstance(h, type)
            or not any(hasattr(h, method) for method in _HOOK_METHODS)
        ):
            raise CadenceDefinitionError(
                f".{where}: expected a CadenceHooks instance, got {h!r}"
                + (" (instantiate the class: LoggingHooks())" if isinstance(h, type) else "")
            )
    return items


def _concurrently(name: str, tasks: tuple[Task, ...]) -> tuple[Task, ...]:
    """One task running ``tasks`` as a ``.sync`` group (a ``.split(..., parallel=True)`` branch)."""
    if len(tasks) < 2:
        return tasks
    group: Cadence[Any] = Cadence(name, None).sync(name, [t.fn for t in tasks])
    step = group.steps[0]
    assert isinstance(step, SyncStep)

    async def run_group(score: Any) -> Any:
        # The runner's .sync step itself, not a nested run of `group`: a nested run ends at a
        # task's Skip and returns, so the enclosing run went on after the split. It runs in
        # the enclosing run (its cadence name, run id and hooks, read from the scope the
        # runner set for this branch), so that hooks and events see the branch's tasks.
        from cadence._context import note_var
        from cadence._runner import _Run, _run_sync

        scope = note_var.get()
        run = (
            _Run(scope.cadence_name, scope.run_id, scope.hooks)
            if scope is not None
            else _Run(name, None, None)
        )
        return await _run_sync(step, score, run)

    run_group.__name__ = name
    run_group.__dict__["_cadence_group"] = group  # what the diagrams draw for this branch
    return (Task(name, run_group, True),)


def _in_sequence(score: Any) -> bool:
    """The condition of a deprecated ``.sequence`` step: its tasks always run."""
    return True


_in_sequence.__name__ = "sequence"


class Cadence(Generic[S]):
    """A named, declarative plan of steps over a score of type ``S``.

    Args:
        name: The cadence's name (used in hooks, events, checkpoints and diagrams).
        score: The score ``run()`` uses when it is not given another one.
    """

    def __init__(self, name: str, score: S) -> None:
        if not isinstance(name, str) or not name.strip():
            raise CadenceDefinitionError(
                f"Cadence name must be a non-empty string, got {name!r}: Cadence('checkout', score)"
            )
        if isinstance(score, type):
            raise CadenceDefinitionError(
                f"Cadence({name!r}, {score.__name__}): the score must be an instance, not the "
                f"class; write Cadence({name!r}, {score.__name__}(...))"
            )
        self._name = name
        self._score = score
        self._steps: list[Step] = []
        self._names: set[str] = set()
        self._hooks = HooksManager()
        self._error_handler: Callable[..., Any] | None = None
        self._stop_on_error = True
        self._checkpoint: Any = None
        self._checkpoint_run_id: str | None = None
        self._checkpoint_max_attempts: int | None = None
        self._budget: Budget | None = None
        self._budget_into: str | None = None
        self._plan: Plan[S] | None = None
        self._plan_hooks = -1  # the hooks' revision the cached plan was built with

    # -- introspection ------------------------------------------------------------------

    @property
    def name(self) -> str:
        """The cadence's name."""
        return self._name

    @property
    def score(self) -> S:
        """The score ``run()`` uses by default (the one the cadence was built with)."""
        return self._score

    def get_score(self) -> S:
        """The default score (0.7-compatible alias of ``score``)."""
        return self._score

    @property
    def steps(self) -> tuple[Step, ...]:
        """The recorded plan, in order."""
        return tuple(self._steps)

    @property
    def hooks(self) -> HooksManager:
        """The attached hooks."""
        return self._hooks

    @property
    def checkpoint_store(self) -> Any:
        """The checkpoint store from ``with_checkpoint``, or ``None``."""
        return self._checkpoint

    def plan(self) -> Plan[S]:
        """The definition frozen into the :class:`Plan` a run executes.

        The plan is built once and kept until the definition changes (a step, hook, reporter,
        handler or checkpoint store is added), so runs do not pay for it.
        """
        plan = self._plan
        if plan is None or self._plan_hooks != self._hooks.revision:
            plan = Plan(
                self._name,
                self._score,
                tuple(self._steps),
                hooks=self._hooks.frozen() if self._hooks else None,
                error_handler=self._error_handler,
                stop_on_error=self._stop_on_error,
                checkpoint=self._checkpoint,
                checkpoint_run_id=self._checkpoint_run_id,
                checkpoint_max_attempts=self._checkpoint_max_attempts,
                budget=self._budget,
                budget_into=self._budget_into,
            )
            self._plan = plan
            self._plan_hooks = self._hooks.revision
        return plan

    def __repr__(self) -> str:
        return f"Cadence({self._name!r}, steps={[s.name for s in self._steps]!r})"

    # -- building ---------------------------------------------------------------------------

    def _add(self, step: Step) -> Cadence[S]:
        self._steps.append(step)
        self._names.add(step.name)
        self._plan = None
        return self

    def _check_name(self, name: Any, method: str) -> str:
        if not isinstance(name, str) or not name.strip():
            raise _misuse(
                method, f".{method}(): the step name must be a non-empty string, got {name!r}"
            )
        if name in self._names:
            raise CadenceDefinitionError(
                f".{method}({name!r}, ...): a step named {name!r} already exists in cadence "
                f"{self._name!r}; step names must be unique (they key checkpoints and metrics)"
            )
        return name

    def then(
        self, name: str, task: Callable[[S], Any], *, can_interrupt: bool = False
    ) -> Cadence[S]:
        """Run ``task(score)`` (sync or async) as the next step."""
        name = self._check_name(name, "then")
        return self._add(ThenStep(name, task_of(task, f".then({name!r})"), can_interrupt))

    def sync(
        self,
        name: str,
        tasks: Sequence[Callable[[S], Any]],
        merge_strategy: Callable[..., Any] | None = None,
    ) -> Cadence[S]:
        """Run ``tasks`` concurrently on isolated views of the score, then merge their changes.

        Args:
            name: Step name.
            tasks: A non-empty list of sync or async callables taking the score.
            merge_strategy: ``MergeStrategy.smart_merge`` (default), ``fail_on_conflict``,
                ``last_write_wins``, or a callable ``(original, snapshots, changes)``.
        """
        name = self._check_name(name, "sync")
        if callable(tasks) and not isinstance(tasks, (list, tuple)):
            raise _misuse(
                "sync",
                f".sync({name!r}, ...): expected a list of functions, got a single function; "
                f"use .then({name!r}, fn) or .sync({name!r}, [fn1, fn2])",
            )
        parsed = tasks_of(tasks, f".sync({name!r})")
        merge = MergeStrategy.smart_merge if merge_strategy is None else merge_strategy
        if not callable(merge):
            raise _misuse(
                "sync",
                f".sync({name!r}): merge_strategy must be a MergeStrategy member or a callable "
                f"(original, snapshots, changes), got {merge!r}",
            )
        return self._add(SyncStep(name, parsed, merge, getattr(merge, "__name__", repr(merge))))

    def split(
        self,
        name: str,
        condition: Callable[[S], Any],
        if_true: Callable[[S], Any] | Sequence[Callable[[S], Any]],
        if_false: Callable[[S], Any] | Sequence[Callable[[S], Any]] | None = None,
        *,
        parallel: bool = False,
    ) -> Cadence[S]:
        """Evaluate ``condition(score)`` (sync or async) and run one branch's tasks in order.

        With ``parallel=True`` (as in 0.7.2) a branch's tasks run concurrently instead, each on
        an isolated view of the score, their changes merged like a ``.sync`` group's.
        """
        name = self._check_name(name, "split")
        if not callable(condition):
            raise _misuse(
                "split",
                f".split({name!r}): condition must be a function taking the score and returning "
                f"a truth value, got {condition!r}",
            )
        cond = task_of(condition, f".split({name!r}, condition=...)")
        true_tasks = tasks_of(if_true, f".split({name!r}, if_true=...)")
        false_tasks = (
            ()
            if if_false is None
            else tasks_of(if_false, f".split({name!r}, if_false=...)", allow_empty=True)
        )
        if parallel:
            true_tasks = _concurrently(f"{name}_if", true_tasks)
            false_tasks = _concurrently(f"{name}_else", false_tasks)
        return self._add(SplitStep(name, cond, true_tasks, false_tasks))

    def sequence(self, name: str, tasks: Sequence[Callable[[S], Any]]) -> Cadence[S]:
        """Deprecated (0.7.2): run ``tasks`` in order as one step; write a ``.then`` per task.

        Kept as one step (one checkpoint, one ``before_note``/``after_note`` pair), like 0.7.2;
        it is recorded as a ``.split`` whose condition is always true.
        """
        from cadence._compat import deprecated

        deprecated(".sequence(name, tasks)", "one .then(name, task) per task")
        return self.split(name, _in_sequence, tasks)

    def child(
        self,
        name: str,
        cadence: Cadence[Any],
        merge: Callable[[S, Any], Any],
        *,
        score: Callable[[S], Any] | None = None,
    ) -> Cadence[S]:
        """Run another cadence as one step, then ``merge(parent_score, child_score)``.

        Args:
            name: Step name.
            cadence: The child cadence.
            merge: ``(parent, child_score)``, sync or async; copies results into the parent.
            score: Optional ``parent -> child score`` factory. Without it each run of the parent
                runs the child on a fresh deep copy of the child's own score.
        """
        name = self._check_name(name, "child")
        if not isinstance(cadence, Cadence):
            raise _misuse(
                "child",
                f".child({name!r}): expected a Cadence, got {type(cadence).__name__}; "
                f"for a function use .then({name!r}, fn)",
            )
        if cadence is self:
            raise CadenceDefinitionError(f".child({name!r}): a cadence cannot contain itself")
        inside = _child_path(cadence, self)
        if inside is not None:  # self -> cadence -> ... -> self would recurse on every run
            raise CadenceDefinitionError(
                f".child({name!r}): a cadence cannot contain itself, and {self.name!r} already "
                f"runs inside {cadence.name!r} ({' -> '.join(inside)})"
            )
        if not callable(merge):
            raise _misuse(
                "child",
                f".child({name!r}): merge must be a function (parent, child_score) that copies the "
                f"child's results into the parent, got {merge!r}",
            )
        if score is not None and not callable(score):
            raise _misuse(
                "child",
                f".child({name!r}): score= must be a function parent -> child score, got {score!r}",
            )
        refuse_waits_inside(cadence.steps, cadence.name, f".child({name!r})")
        merge_task = task_of(merge, f".child({name!r}, merge=...)")
        return self._add(ChildStep(name, cadence, merge_task, score))

    def map(
        self,
        name: str,
        items_from: str | Callable[[S], Any],
        fn: Callable[[Any], Any],
        *,
        concurrency: int | None = None,
        into: str | None = None,
        on_error: str = "fail_fast",
        errors_into: str | None = None,
    ) -> Cadence[S]:
        """Run ``fn`` once per item of a list known only at run time (dynamic fan-out).

        Each item runs on its own score, a private copy of the item; to give items context
        from the parent, build them in ``items_from`` (``lambda s: [Ask(s.question, d) for d
        in s.docs]``). Results land in ``into`` as a list in item order; ``fn`` returning
        ``None`` contributes its (changed) item. See ``docs/map.md``.

        Args:
            name: Step name.
            items_from: The score field holding the items, or a function ``score -> list``.
            fn: A note (sync or async) taking an item as its score; ``other_cadence.run``
                runs a whole cadence per item.
            concurrency: Most items in flight at once (``None``: all of them).
            into: Score field that receives the results, in item order.
            on_error: ``"fail_fast"`` (cancel the rest, raise ``ParallelNoteError`` naming the
                item) or ``"collect"`` (run every item; failures go to ``errors_into``).
            errors_into: With ``"collect"``: field receiving a list of ``ItemFailure``.
        """
        from cadence._map import check_map

        name = self._check_name(name, "map")
        step = check_map(
            name,
            items_from,
            fn,
            concurrency=concurrency,
            into=into,
            on_error=on_error,
            errors_into=errors_into,
            template=self._score,
            make_task=task_of,
        )
        return self._add(step)

    def wait(
        self,
        name: str,
        condition: Any,
        *,
        into: str | None = None,
        timeout: float | timedelta | None = None,
        on_timeout: Callable[[S], Any] | None = None,
        when: Callable[[S], Any] | None = None,
    ) -> Cadence[S]:
        """Park the run until ``condition`` is met; the process may exit meanwhile.

        ``run()`` raises ``RunSuspended`` when the run parks; ``resume(run_id, value)`` (or
        ``signal``, or ``wake_due`` for a sleep) continues it, exactly once, in any process.
        Needs ``with_checkpoint``. See ``docs/waits.md``.

        Args:
            name: Step name; also the wait's key in ``resume(..., wait=name)``.
            condition: ``Approval(payload=...)`` (payload: JSON data or a function of the
                score), ``Signal("event")`` or ``Sleep(seconds)`` / ``Sleep(until=...)``.
            into: Score field that receives the resume value (a ``Decision`` for an approval).
            timeout: Seconds (or a ``timedelta``) before the wait times out.
            on_timeout: Runs on the score (sync or async) when the timeout passes; without it
                the step fails with ``WaitTimedOut``.
            when: Wait only if ``when(score)`` (sync or async) is true, e.g. only for refunds
                above a limit; otherwise the step completes at once.
        """
        from cadence._map import known_fields
        from cadence._waits import Signal, check_wait

        name = self._check_name(name, "wait")
        step = check_wait(
            name,
            condition,
            into=into,
            timeout=timeout,
            on_timeout=on_timeout,
            when=when,
            make_task=task_of,
        )
        known = known_fields(self._score)
        if into is not None and known is not None and into not in known:
            raise CadenceDefinitionError(
                f".wait({name!r}): into={into!r} is not a field of {type(self._score).__name__} "
                f"(fields: {', '.join(sorted(known))})"
            )
        if isinstance(condition, Signal):
            for other in self._steps:
                if (
                    type(other) is WaitStep
                    and isinstance(other.condition, Signal)
                    and other.condition.name == condition.name
                ):
                    raise CadenceDefinitionError(
                        f".wait({name!r}): step {other.name!r} already waits for signal "
                        f"{condition.name!r}; a run can wait for one signal name once"
                    )
        return self._add(step)

    def on_error(self, handler: Callable[[S, BaseException], Any], stop: bool = True) -> Cadence[S]:
        """Handle a failing step with ``handler(score, error)`` (sync or async) instead of raising.

        With ``stop=True`` the run ends after the handler and returns the score; with
        ``stop=False`` it continues with the next step. Applies to every step of the cadence.

        Raises:
            CadenceDefinitionError: ``handler`` is not callable, or cannot be called with the
                two arguments ``(score, error)`` (found here rather than when a step fails).
        """
        if not callable(handler):
            raise _misuse(
                "on_error",
                f".on_error(): handler must be a function (score, error), got {handler!r}",
            )
        # Checked here, not when a step fails: the runner calls handler(score, error) only on
        # the error path, the worst moment to learn the handler cannot take those arguments.
        problem = call_problem(handler, 2)
        if problem is not None:
            label = note_name_of(handler)
            name = label if label.isidentifier() else "handler"
            fix = (
                f"a @note is called with the score alone: pass the plain function ({name}.fn)"
                if callable(getattr(handler, "fn", None)) and hasattr(handler, "note_name")
                else f"define it as def {name}(score, error): ..."
            )
            raise _misuse(
                "on_error",
                f".on_error({label}): cadence {self._name!r} calls its handler as "
                f"handler(score, error) when a step fails, but {label} cannot take those "
                f"arguments ({problem}); {fix}",
            )
        self._error_handler = handler
        self._stop_on_error = bool(stop)
        self._plan = None
        return self

    def with_hooks(self, hooks: Any) -> Cadence[S]:
        """Attach a hooks object (``CadenceHooks``, ``EventEmitter`` …) or a list of them."""
        for h in _hook_list(hooks, "with_hooks()"):
            legacy = sys.modules.get("cadence._compat.checkpoint")
            if legacy is not None and isinstance(h, legacy.CheckpointHooks):
                self.with_checkpoint(h.store, h.run_id)  # 0.7.2's way to checkpoint
                continue
            self._hooks.add(h)
        return self

    def with_reporter(self, reporter: Callable[[str, float, Any], Any]) -> Cadence[S]:
        """Call ``reporter(note_name, seconds, score)`` after each step and once with
        ``"<cadence>:TOTAL"`` at the end; sync or async. The reporter is attached as a hook
        (a ``cadence.reporters.Reporter`` bound to this cadence)."""
        if not callable(reporter):
            raise CadenceDefinitionError(
                f".with_reporter(): expected a function (note_name, elapsed, score), got {reporter!r}"
            )
        self._hooks.add(CallableReporter(reporter, cadence_name=self._name))
        return self

    def with_checkpoint(
        self, store: Any, run_id: str | None = None, *, max_attempts: int | None = None
    ) -> Cadence[S]:
        """Save a checkpoint after each step so a crashed run resumes where it stopped.

        Args:
            store: A checkpoint store (``cadence.checkpoint``).
            run_id: Identifies the run to resume; ``run(run_id=...)`` overrides it per run.
            max_attempts: Stop a run that keeps crashing on the same step after this many tries.
        """
        if isinstance(store, type):
            raise CadenceDefinitionError(
                f".with_checkpoint(): got the class {store.__name__}, not a store; create one, "
                f"e.g. .with_checkpoint({store.__name__}(...))"
            )
        missing = [m for m in _CHECKPOINT_METHODS if not callable(getattr(store, m, None))]
        if missing:
            raise CadenceDefinitionError(
                f".with_checkpoint(): {type(store).__name__} is not a checkpoint store (missing "
                f"{', '.join(missing)}); use e.g. cadence.checkpoint.SQLiteCheckpointStore(path)"
            )
        if self._checkpoint is not None:
            raise CadenceDefinitionError(
                ".with_checkpoint() was called twice on this cadence; it takes one store"
            )
        if run_id is not None and (not isinstance(run_id, str) or not run_id):
            raise CadenceDefinitionError(
                f".with_checkpoint(): run_id must be a non-empty string, got {run_id!r}"
            )
        if max_attempts is not None and (not isinstance(max_attempts, int) or max_attempts < 1):
            raise CadenceDefinitionError(
                f".with_checkpoint(): max_attempts must be an int >= 1, got {max_attempts!r}"
            )
        self._checkpoint = store
        self._checkpoint_run_id = run_id
        self._checkpoint_max_attempts = max_attempts
        self._plan = None
        return self

    def with_budget(self, budget: Any, *, into: str | None = None) -> Cadence[S]:
        """Limit what each run may spend on models and tools (see ``cadence.Budget``).

        Every model request and tool call inside the run -- nested agents, child cadences and
        ``.sync`` tasks included -- counts against one shared account, checked before each call.

        Args:
            budget: A ``cadence.Budget``.
            into: A score field that receives the run's ``cadence.Spend`` after every step (so
                it is checkpointed, and a resumed run keeps counting from it) and at the end.
        """
        from cadence.budget import Budget  # loaded on first use: import cadence stays cheap

        if not isinstance(budget, Budget):
            raise CadenceDefinitionError(
                f".with_budget(): expected a cadence.Budget, got {budget!r}; "
                "e.g. .with_budget(Budget(requests=20, output_tokens=10_000))"
            )
        if into is not None and (not isinstance(into, str) or not into.isidentifier()):
            raise CadenceDefinitionError(
                f".with_budget(into=...) must be a score field name, got {into!r}"
            )
        if self._budget is not None:
            raise CadenceDefinitionError(".with_budget() was already called on this cadence")
        self._budget = budget
        self._budget_into = into
        self._plan = None
        return self

    # -- running ----------------------------------------------------------------------------

    async def run(
        self, score: S | None = None, *, run_id: str | None = None, hooks: Any = None
    ) -> S:
        """Run the plan and return the final score.

        Args:
            score: Run on this score instead of the one the cadence was built with; the
                definition and its default score are left untouched.
            run_id: The run's id (checkpoint key; reported to hooks). Without ``score``, such a
                run starts from a deep copy of the cadence's score (as ``resume`` does), so
                one run's values never carry into the next.
            hooks: A hooks object, a list of them or a ``HooksManager`` attached to this run
                only (after the cadence's own hooks) — e.g. a per-request event relay, or
                ``current_note().hooks`` to report into the enclosing run — leaving the shared
                definition unchanged. A hook attached to both is called once.
        """
        from cadence._runner import run_plan

        plan = self.plan()
        if score is not None:
            target = score
        elif run_id is not None:
            # A run with an id of its own (a checkpoint key, a request) starts from a copy, as
            # resume() does: the definition's score stays the template of every such run.
            target = copy.deepcopy(plan.score)
        else:
            target = plan.score
        if (
            run_id is None
            and plan.checkpoint_run_id is not None
            and score is not None
            and not _same_value(score, plan.score)
        ):
            raise CadenceDefinitionError(
                f"cadence {plan.name!r} has the fixed run id {plan.checkpoint_run_id!r} "
                "(.with_checkpoint(store, run_id=...)), so every run resumes or replays that "
                "one run, and a run on another score would return its result. Give each run "
                "its own id: run(score, run_id=order_id), or drop run_id= from with_checkpoint()"
            )
        extra = None
        if hooks is not None:
            extra = HooksManager(_hook_list(hooks, "run(hooks=...)")) or None
        if plan.waits and plan.checkpoint is None:
            raise CadenceDefinitionError(
                f"cadence {plan.name!r} has wait steps, so its runs must be checkpointed to "
                "park and resume: add .with_checkpoint(SQLiteCheckpointStore('runs.db'))"
            )
        try:
            result: S = await run_plan(plan, target, run_id, inherited=extra)
        except BaseException as exc:
            if getattr(exc, "parked", None) is None:
                raise  # not a parked run (a Suspension owned by an enclosing run passes on)
            from cadence._resume import after_park

            result = await after_park(plan, target, exc, extra)  # type: ignore[arg-type]
        return result

    # -- waits ------------------------------------------------------------------------------

    async def resume(
        self, run_id: str, value: Any = None, *, wait: str | None = None, score: S | None = None
    ) -> S:
        """Continue a parked run with ``value`` and return its final score.

        Exactly once: a second resume of the same wait raises ``WaitError``
        (``WAIT_ALREADY_RESOLVED``). If the run parks again at a later wait, this raises
        ``RunSuspended`` like ``run()``.

        Args:
            run_id: The parked run (``RunSuspended.run_id``).
            value: For an approval ``True``/``False``, ``Decision.approve(payload=...)`` /
                ``Decision.reject(reason=...)`` or that as a dict; else any JSON data.
            wait: The wait's key (the ``.wait`` step's name), when the run waits on several.
            score: The score object to continue on (restored from the checkpoint); a copy of
                the cadence's own score by default.
        """
        from cadence._resume import resume

        return await resume(self, run_id, value, wait=wait, score=score)

    async def signal(
        self, run_id: str, name: str, value: Any = None, *, score: S | None = None
    ) -> S | None:
        """Send the signal ``name`` with ``value`` to a run, continuing it if it was waiting.

        Returns the final score, or ``None`` when the run was not waiting for the signal yet:
        then the signal is kept, and its wait returns it at once when the run gets there.
        """
        from cadence._resume import signal

        return await signal(self, run_id, name, value, score=score)

    async def deliver(
        self, run_id: str, value: Any = None, *, wait: str | None = None, signal: str | None = None
    ) -> WaitRecord:
        """Resolve a wait (exactly once) without continuing the run; returns the record.

        Continue later, anywhere, with ``run(run_id=run_id)`` -- what ``CadenceActor.resume``
        does on a worker.
        """
        from cadence._resume import deliver

        return await deliver(self, run_id, value, wait=wait, signal=signal)

    async def waits(self, run_id: str | None = None) -> list[WaitRecord]:
        """The waits still waiting: of one run, or of every run of this cadence."""
        from cadence._resume import list_waits

        return await list_waits(self, run_id)

    async def wake_due(self, *, limit: int | None = None) -> list[str]:
        """Continue runs whose ``Sleep`` ended or whose wait timed out; returns their ids."""
        from cadence._resume import wake_due

        return await wake_due(self, limit=limit)

    def run_sync(
        self, score: S | None = None, *, run_id: str | None = None, hooks: Any = None
    ) -> S:
        """Run from synchronous code (a script, a sync Flask view).

        Uses ``asyncio.run`` when no loop is running in this thread; inside a running loop it
        runs the cadence on a fresh loop in a worker thread rather than failing.
        """
        coro = self.run(score, run_id=run_id, hooks=hooks)
        try:
            asyncio.get_running_loop()
        except RuntimeError:
            return asyncio.run(coro)
        import contextvars
        from concurrent.futures import ThreadPoolExecutor

        # In the caller's context (a copy, as asyncio.to_thread does): the enclosing run's
        # budget, current_note() and the integrations' request state reach the nested run.
        context = contextvars.copy_context()
        with ThreadPoolExecutor(max_workers=1, thread_name_prefix="cadence-run-sync") as pool:
            return pool.submit(context.run, asyncio.run, coro).result()
