"""recipes.checkout: resilience, events, checkpoints and a resume that charges once."""

from __future__ import annotations

from pathlib import Path

import pytest

from cadence.checkpoint import InMemoryCheckpointStore
from recipes import checkout


async def test_resume_after_crash_charges_once(tmp_path: Path) -> None:
    """The crashed run's completed steps are skipped on resume; one charge in total."""
    final, services = await checkout.main(directory=tmp_path)
    assert (final.total, final.transaction, final.parcel) == (14.5, "tx-ord-123", "parcel-ord-123")
    assert services.payment_calls == 2 and len(services.charges) == 1
    assert services.reserved == ["ORD-123"]


async def test_events_show_retry_crash_and_skipped_steps() -> None:
    """The first run retries the payment and fails in ship; the second starts at ship."""
    store, services = InMemoryCheckpointStore(), checkout.Services()
    first: list[str] = []
    with pytest.raises(Exception, match="worker died"):
        await checkout.build(services, store, events=first).run(run_id="o1")
    second: list[str] = []
    result = await checkout.build(services, store, events=second).run(run_id="o1")
    assert any("note.retrying" in line and "process_payment" in line for line in first)
    assert any("note.failed" in line and "ship" in line for line in first)
    started = [line.split()[-1] for line in second if "note.started" in line]
    assert started == ["ship", "send_confirmation"]
    assert result.email == "queued for retry"  # the fallback kept the order going
