"""Wait records in process memory: the reference backend, paired with ``InMemoryCheckpointStore``."""

from __future__ import annotations

from cadence.checkpoint._waits._record import WAITING, Decide, WaitRecord, WaitStoreBase

__all__ = ["MemoryWaitStore"]


class MemoryWaitStore(WaitStoreBase):
    """Wait records in a dict; every operation runs without awaiting, so it is atomic."""

    def __init__(self) -> None:
        self._runs: dict[tuple[str, str], dict[str, WaitRecord]] = {}

    async def _transact(
        self, cadence_name: str, run_id: str, key: str, decide: Decide
    ) -> WaitRecord | None:
        records = self._runs.get((cadence_name, run_id), {})
        current = records.get(key)
        new = decide(current)
        if new is not None and new is not current:
            self._runs.setdefault((cadence_name, run_id), records)[key] = new
        return new

    async def get_waits(self, cadence_name: str, run_id: str) -> list[WaitRecord]:
        """Every record of the run, oldest first."""
        records = self._runs.get((cadence_name, run_id), {})
        return sorted(records.values(), key=lambda r: r.created_at)

    async def list_waits(
        self, cadence_name: str, *, run_id: str | None = None, due_before: float | None = None
    ) -> list[WaitRecord]:
        """Waiting records of the cadence (of one run, or due by ``due_before``), oldest first."""
        found = [
            record
            for (name, rid), records in self._runs.items()
            if name == cadence_name and (run_id is None or rid == run_id)
            for record in records.values()
            if record.status == WAITING
            and (
                due_before is None
                or (record.deadline is not None and record.deadline <= due_before)
            )
        ]
        return sorted(found, key=lambda r: r.created_at)

    async def delete_waits(self, cadence_name: str, run_id: str) -> None:
        """Forget the run's records."""
        self._runs.pop((cadence_name, run_id), None)
