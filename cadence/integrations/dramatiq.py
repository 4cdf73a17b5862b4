"""Run cadences on Dramatiq workers: enqueue from a web process, resume after a worker dies.

Define the cadence once, in a module both the web process and the workers import::

    broker = RedisBroker(url=REDIS, heartbeat_timeout=5000, maintenance_chance=1_000_000)
    dramatiq.set_broker(broker)
    checkout = Cadence("checkout", Order()).then(...).then(...)
    jobs = CadenceActor(checkout, store=RedisCheckpointStore(REDIS), broker=broker)

    run_id = jobs.enqueue(Order(order_id="A-1"))    # web process: returns at once
    jobs.status(run_id).state                       # "queued" / "running" / "succeeded" / "failed"
    order = jobs.wait(run_id, timeout=30)           # the final score

A run that parks at a ``.wait`` step has the status ``"waiting"``; ``await jobs.resume(run_id,
value)`` delivers the value (exactly once) and queues the continuation on a worker. A sleep or
a wait with a timeout is woken by a delayed message when it falls due.

Delivery is at-least-once: a SIGKILLed worker's message comes back (after the broker's heartbeat
timeout) to another worker, which resumes the run from its last checkpoint. The checkpoint store
(shared by all workers) makes completed steps run once; its lease makes a duplicate delivery wait
while the first worker is alive (a worker killed on the same machine is recognised at once). A
successful run leaves a completion record in the store, so a message redelivered after success
returns the recorded result without running anything.
Needs the ``dramatiq`` extra; run statuses live in the broker's Redis (or ``status_url``).
"""

from __future__ import annotations

import asyncio
import json
import math
import os
import signal
import socket
import threading
import time
import uuid
import weakref
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from cadence.checkpoint._protocol import LEASE_HELD
from cadence.checkpoint._session import _leasing
from cadence.checkpoint.codec import FORMAT, ScoreCodec
from cadence.exceptions import CadenceError, CheckpointError, RunSuspended

try:
    import dramatiq
except ImportError as exc:  # pragma: no cover - depends on the environment
    raise ImportError(
        "cadence.integrations.dramatiq needs Dramatiq: pip install 'cadence-orchestration[dramatiq]'"
    ) from exc

__all__ = ["CadenceActor", "RunFailed", "RunStatus", "run_worker"]

S = TypeVar("S")


@dataclass(frozen=True, slots=True)
class RunStatus:
    """Where a run stands, as recorded by the workers.

    Attributes:
        run_id: The run's id.
        state: ``"queued"``, ``"running"``, ``"waiting"`` (parked at a wait step: see
            :meth:`CadenceActor.resume`), ``"succeeded"`` or ``"failed"``.
        error: ``"Type: message"`` of the failure, for failed runs.
        deliveries: How many times a worker picked the run up (more than 1 after a redelivery).
        worker: ``host:pid`` of the worker that last picked it up.
        updated_at: Unix time of the last change.
    """

    run_id: str
    state: str
    error: str | None
    deliveries: int
    worker: str | None
    updated_at: float


class RunFailed(CadenceError):
    """The run ended with an error on its worker; ``details["error"]`` holds it."""

    default_code = "RUN_FAILED"


class _ResultFirstStore:
    """Wraps the checkpoint store so a successful run's result is recorded before clean-up.

    Only matters for a store without completion records (whose sessions clear checkpoints on
    success): a worker killed between clearing the checkpoints and recording the result would
    leave a redelivered message nothing to resume from, and the whole run would execute again.
    Stores with completion records never call ``clear_checkpoints`` on success.
    """

    def __init__(self, inner: Any, owner: CadenceActor[Any]) -> None:
        self._inner = inner
        self._owner = owner

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)

    async def clear_checkpoints(
        self, cadence_name: str, run_id: str, *, token: int | None = None
    ) -> None:
        state = await self._inner.get_last_score_state(cadence_name, run_id)
        if state is not None:
            await asyncio.to_thread(self._owner._record, run_id, "succeeded", result=state)
        await self._inner.clear_checkpoints(cadence_name, run_id, token=token)


class CadenceActor(Generic[S]):
    """A Dramatiq actor that runs one cadence per message, checkpointed, with status by run id.

    Args:
        cadence: The cadence to run; do not call ``with_checkpoint`` on it yourself (this class
            attaches ``store``).
        store: A checkpoint store every worker shares and that supports leases: Redis or
            PostgreSQL, or SQLite when all workers run on one machine (WAL needs shared memory,
            so never put the file on a network filesystem).
        broker: The Dramatiq broker; defaults to ``dramatiq.get_broker()``. The ``AsyncIO``
            middleware is added if missing.
        queue_name: The Dramatiq queue.
        actor_name: Defaults to ``cadence:<cadence name>``.
        max_attempts: Stop a run whose same step was started this many times (crash loops).
        result_ttl: Seconds statuses and results are kept (rounded up to whole seconds).
        lease_wait: Seconds a redelivered message waits for a dead worker's lease to expire
            before concluding a live worker owns the run; defaults to twice the store's lease.
        time_limit: Dramatiq time limit per message in milliseconds (``None``: Dramatiq's).
            A run cut off by it is marked ``"failed"``; resume it by enqueueing its id again.
        status_url: Redis URL for statuses when the broker is not a ``RedisBroker``.
        codec: Score codec; defaults to the store's, else ``ScoreCodec()``.
    """

    def __init__(
        self,
        cadence: Any,
        *,
        store: Any,
        broker: Any = None,
        queue_name: str = "default",
        actor_name: str | None = None,
        max_attempts: int | None = None,
        result_ttl: float = 86400.0,
        lease_wait: float | None = None,
        time_limit: int | None = None,
        status_url: str | None = None,
        codec: ScoreCodec | None = None,
    ) -> None:
        _check_seconds("result_ttl", result_ttl, positive=True)
        if lease_wait is not None:
            _check_seconds("lease_wait", lease_wait, positive=False)
        if time_limit is not None and (
            isinstance(time_limit, bool) or not isinstance(time_limit, int) or time_limit < 1
        ):
            raise ValueError(
                f"CadenceActor(time_limit=...) is in milliseconds and must be an int >= 1 or "
                f"None, got {time_limit!r}"
            )
        if not _leasing(store):
            raise TypeError(
                f"CadenceActor needs a checkpoint store with leases shared by all workers, got "
                f"{type(store).__name__}; use RedisCheckpointStore, PostgresCheckpointStore or "
                "SQLiteCheckpointStore"
            )
        if cadence.checkpoint_store is not None:
            raise TypeError(
                f"cadence {cadence.name!r} already has a checkpoint store; pass the store to "
                "CadenceActor(store=...) instead of calling .with_checkpoint() yourself"
            )
        self.cadence = cadence
        self.store = store
        self.codec = codec or getattr(store, "codec", None) or ScoreCodec()
        self.broker = broker or dramatiq.get_broker()
        self.result_ttl = result_ttl
        self.lease_wait = (
            lease_wait if lease_wait is not None else 2 * float(getattr(store, "lease_ttl", 30.0))
        )
        self._redis = self._status_client(status_url)
        self._prefix = f"cadence:dramatiq:{cadence.name}"
        from dramatiq.middleware import AsyncIO

        if not any(isinstance(m, AsyncIO) for m in self.broker.middleware):
            self.broker.add_middleware(AsyncIO())
        cadence.with_checkpoint(_ResultFirstStore(store, self), max_attempts=max_attempts)
        options: dict[str, Any] = {"max_retries": 0}
        if time_limit is not None:
            options["time_limit"] = time_limit
        make_actor: Any = dramatiq.actor  # its overloads do not cover **options with a fn
        self.actor = make_actor(
            self._perform,
            actor_name=actor_name or f"cadence:{cadence.name}",
            queue_name=queue_name,
            broker=self.broker,
            **options,
        )

    def _status_client(self, status_url: str | None) -> Any:
        if status_url is not None:
            import redis

            return redis.Redis.from_url(status_url)
        client = getattr(self.broker, "client", None)
        if client is None:
            raise TypeError(
                "the broker has no Redis client; pass status_url='redis://...' for run statuses"
            )
        return client

    # -- web process side -----------------------------------------------------------------------

    def enqueue(
        self, score: S | None = None, *, run_id: str | None = None, delay: int | None = None
    ) -> str:
        """Queue a run of the cadence on ``score`` and return its run id.

        Args:
            score: The run's starting score (the cadence's own score when omitted). It is
                encoded now, so an unencodable value fails here, in the caller.
            run_id: Reuse an id to resume a failed run from its checkpoints; a new id otherwise.
            delay: Milliseconds to wait before a worker may pick the run up.
        """
        run_id = run_id or uuid.uuid4().hex
        state = self.codec.encode_score(self.cadence.score if score is None else score)
        self._record(run_id, "queued")
        self.actor.send_with_options(args=(run_id, state), delay=delay)
        return run_id

    def status(self, run_id: str) -> RunStatus | None:
        """The run's status, or ``None`` for an unknown (or expired) run id."""
        raw = self._redis.hgetall(self._key(run_id))
        if not raw:
            return None
        data = {
            k.decode() if isinstance(k, bytes) else k: v.decode() if isinstance(v, bytes) else v
            for k, v in raw.items()
        }
        return RunStatus(
            run_id=run_id,
            state=data.get("state", "queued"),
            error=data.get("error") or None,
            deliveries=int(data.get("deliveries", 0)),
            worker=data.get("worker") or None,
            updated_at=float(data.get("updated_at", 0)),
        )

    def result(self, run_id: str) -> S:
        """The final score of a succeeded run.

        Raises:
            RunFailed: the run failed. ``CadenceError``: it has not finished (or is unknown).
        """
        status = self.status(run_id)
        if status is not None and status.state == "failed":
            raise RunFailed(
                f"run {run_id!r} failed: {status.error}", details={"error": status.error}
            )
        raw = self._redis.hget(self._key(run_id), "result")
        if status is None or status.state != "succeeded" or raw is None:
            state = "unknown" if status is None else status.state
            raise CadenceError(
                f"run {run_id!r} has no result yet (state: {state})", code="RUN_NOT_FINISHED"
            )
        score: S = self.codec.decode_score(json.loads(raw), type(self.cadence.score))
        return score

    def wait(self, run_id: str, *, timeout: float = 60.0, interval: float = 0.1) -> S:
        """Poll until the run finishes and return its final score (``RunFailed`` if it failed)."""
        deadline = time.monotonic() + timeout
        while True:
            status = self.status(run_id)
            if status is not None and status.state in ("succeeded", "failed"):
                return self.result(run_id)
            if time.monotonic() >= deadline:
                raise CadenceError(
                    f"run {run_id!r} did not finish within {timeout}s", code="RUN_WAIT_TIMEOUT"
                )
            time.sleep(interval)

    async def resume(self, run_id: str, value: Any = None, *, wait: str | None = None) -> None:
        """Resume a parked run with ``value`` (exactly once) and let a worker continue it.

        The value is delivered here, so a refused resume raises ``WaitError`` in the caller
        (``WAIT_ALREADY_RESOLVED`` for the second one); the continuation is queued.
        """
        await self.cadence.deliver(run_id, value, wait=wait)
        await asyncio.to_thread(self._continue, run_id)

    async def signal(self, run_id: str, name: str, value: Any = None) -> bool:
        """Send signal ``name``; queue the run's continuation if it was waiting for it.

        Returns whether the run continues now (``False``: the signal arrived early and is kept
        for the run).
        """
        record = await self.cadence.deliver(run_id, value, signal=name)
        if record.early:
            return False
        await asyncio.to_thread(self._continue, run_id)
        return True

    def _continue(self, run_id: str, delay: int | None = None) -> None:
        # The checkpoint restores the run's fields; the message only needs a score to restore into.
        state = self.codec.encode_score(self.cadence.score)
        if delay is None:
            self._record(run_id, "queued")
        self.actor.send_with_options(args=(run_id, state), delay=delay)

    # -- worker side ----------------------------------------------------------------------------

    def _key(self, run_id: str) -> str:
        return f"{self._prefix}:{run_id}"

    def _record(
        self,
        run_id: str,
        state: str,
        *,
        error: str | None = None,
        result: Any = None,
        delivered: bool = False,
    ) -> None:
        key = self._key(run_id)
        fields: dict[str, Any] = {"state": state, "updated_at": time.time(), "error": error or ""}
        if result is not None:
            fields["result"] = json.dumps(result, separators=(",", ":"), allow_nan=False)
        pipe = self._redis.pipeline()
        pipe.hset(key, mapping=fields)
        if delivered:
            pipe.hincrby(key, "deliveries", 1)
            pipe.hset(key, "worker", f"{socket.gethostname()}:{os.getpid()}")
        # Rounded up: EXPIRE takes whole seconds and 0 would delete the status at once.
        pipe.expire(key, max(1, math.ceil(self.result_ttl)))
        pipe.execute()

    async def _perform(self, *args: Any, **kwargs: Any) -> None:
        # Any arguments, checked here: a message from another deploy (or hand-made) gets an
        # error naming the field that is wrong, not Dramatiq's TypeError or a codec's
        # "corrupt checkpoint" about a checkpoint that does not exist.
        run_id, state = self._message(args, kwargs)
        status = await asyncio.to_thread(self.status, run_id)
        if status is not None and status.state == "succeeded":
            return  # redelivered after the run finished: nothing left to do
        await asyncio.to_thread(self._record, run_id, "running", delivered=True)
        try:
            score = self._message_score(run_id, state)
            deadline = time.monotonic() + self.lease_wait
            while True:
                try:
                    result = await self.cadence.run(score, run_id=run_id)
                    break
                except RunSuspended as parked:
                    await asyncio.to_thread(self._parked, parked)
                    return
                except CheckpointError as exc:
                    if exc.code != LEASE_HELD:
                        raise
                    if time.monotonic() >= deadline:
                        return  # a live worker executes this run; this delivery is a duplicate
                    await asyncio.sleep(float(exc.details.get("retry_after", 1.0)) + 0.05)
        except asyncio.CancelledError:
            # Dramatiq cancels the coroutine when its time limit (or a shutdown interrupt) hits;
            # the message is not retried (max_retries=0), so say so rather than stay "running".
            await asyncio.to_thread(
                self._record,
                run_id,
                "failed",
                error="TimeLimitExceeded: the run was interrupted on its worker (Dramatiq's "
                "time limit, or a worker shutdown); enqueue its run id again to resume it",
            )
            raise
        except Exception as exc:
            await asyncio.to_thread(
                self._record, run_id, "failed", error=f"{type(exc).__name__}: {exc}"
            )
            return
        encoded = self.codec.encode_score(result)
        await asyncio.to_thread(self._record, run_id, "succeeded", result=encoded)

    def _message(self, args: tuple[Any, ...], kwargs: dict[str, Any]) -> tuple[str, Any]:
        """The ``(run_id, state)`` of a message, or a malformed-message error (raised: without
        a usable run id there is no status to record it on, so Dramatiq logs it)."""
        if kwargs or len(args) != 2:
            got = f"{len(args)} argument(s)" + (f" and keywords {sorted(kwargs)}" if kwargs else "")
            raise self._malformed(None, "args", f"expected (run_id, state), got {got}")
        run_id = args[0]
        if not isinstance(run_id, str) or not run_id:
            raise self._malformed(None, "run_id", f"expected a non-empty string, got {run_id!r}")
        return run_id, args[1]

    def _message_score(self, run_id: str, state: Any) -> Any:
        """The score a message carries, checked field by field against the score class."""
        cls = type(self.cadence.score)
        if not isinstance(state, dict) or state.get("format") != FORMAT:
            found = (
                f"format {state.get('format')!r}"
                if isinstance(state, dict)
                else f"a {type(state).__name__}"
            )
            raise self._malformed(
                run_id,
                "state",
                f"expected a score encoded by ScoreCodec.encode_score (format {FORMAT!r}), "
                f"got {found}",
            )
        try:
            return self.codec.decode_score(state, cls)
        except CheckpointError as exc:
            field, why = _state_problem(exc)
            raise self._malformed(run_id, field, why) from exc

    def _malformed(self, run_id: str | None, field: str, why: str) -> CadenceError:
        run = "" if run_id is None else f" (run {run_id!r})"
        return CadenceError(
            f"malformed message for actor {self.actor.actor_name!r}{run}: {field}: {why}; "
            "queue runs with CadenceActor.enqueue() from the same version of the score class",
            code="MALFORMED_MESSAGE",
            details={"field": field, "run_id": run_id},
        )

    def _parked(self, parked: RunSuspended) -> None:
        """Record a parked run; a sleep or timeout gets a message that wakes it when due."""
        self._record(parked.run_id, "waiting")
        delay = _wake_delay(parked)
        if delay is not None:
            self._continue(parked.run_id, delay)


def _state_problem(exc: CheckpointError) -> tuple[str, str]:
    """The message field (``state.fields.qty``) and the reason behind the codec's error."""
    details = exc.details or {}
    path = str(details.get("path", "$"))
    field = "state" if path == "$" else "state.fields" + path[1:]
    if path == "$.fields":
        field = "state.fields"
    if exc.code == "CHECKPOINT_TYPE_MISMATCH":
        return (
            field,
            f"a {details.get('found')}, but the field is annotated {details.get('expected')}",
        )
    if exc.code == "CHECKPOINT_FIELD_MISMATCH" and "fields" in details:
        names = ", ".join(repr(n) for n in details["fields"])
        return "state.fields", f"holds field(s) {names} the score class does not have"
    if exc.code == "CHECKPOINT_FIELD_MISMATCH":
        return field, "missing, and the score class gives it no default"
    if exc.code == "CHECKPOINT_CLASS_MISMATCH":
        return "state.class", exc.message.split(";")[0].replace("checkpoint holds", "holds")
    prefix = f"corrupt checkpoint at {path}: "
    why = exc.message.removeprefix(prefix).split("; the run cannot resume")[0]
    return field, why


def _check_seconds(name: str, value: Any, *, positive: bool) -> None:
    """Refuse a duration that is not a finite number of seconds (> 0 or >= 0) up front."""
    ok = (
        isinstance(value, (int, float))
        and not isinstance(value, bool)
        and math.isfinite(value)
        and (value > 0 if positive else value >= 0)
    )
    if not ok:
        bound = "> 0" if positive else ">= 0"
        raise ValueError(
            f"CadenceActor({name}=...) must be a finite number of seconds {bound}, got {value!r}"
        )


# Brokers whose process-boot hooks already ran in this process (they start threads only once).
_booted: weakref.WeakSet[Any] = weakref.WeakSet()


def _wake_delay(parked: RunSuspended) -> int | None:
    """Milliseconds until the earliest deadline of a parked run's waits, or ``None``."""
    deadlines: list[float] = [w.deadline for w in parked.waits if w.deadline is not None]
    if not deadlines:
        return None
    from cadence._waits import wall_time

    return max(0, round((min(deadlines) - wall_time()) * 1000)) + 50


def run_worker(broker: Any = None, *, threads: int = 1, queues: set[str] | None = None) -> None:
    """Run a Dramatiq worker in this process until SIGTERM or SIGINT.

    One process, no supervisor: deploy several (systemd, Kubernetes, ``supervisord``) and let
    the platform restart them. The ``dramatiq`` CLI works as well.

    Like the CLI it runs the broker's process-boot hooks first: without them Dramatiq's
    ``TimeLimit`` middleware never starts, and an actor's ``time_limit`` is silently ignored.
    """
    broker = broker or dramatiq.get_broker()
    if broker not in _booted:
        _booted.add(broker)
        broker.emit_after("process_boot")
    worker = dramatiq.Worker(broker, worker_threads=threads, queues=queues)
    stop = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stop.set())
    worker.start()
    try:
        while not stop.wait(0.5):
            pass
    finally:
        worker.stop()
