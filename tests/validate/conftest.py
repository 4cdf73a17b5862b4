"""Fixtures for the validator tests: the session's audit recorder."""

from __future__ import annotations

import sys
from collections.abc import Iterator

import pytest
from validate_support import AuditRecorder

_RECORDER = AuditRecorder()
sys.addaudithook(_RECORDER)


@pytest.fixture
def audit() -> Iterator[AuditRecorder]:
    """The session's audit recorder, disarmed after the test."""
    try:
        yield _RECORDER
    finally:
        _RECORDER.disarm()
