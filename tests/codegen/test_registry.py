"""Roles of registry entries and the text describing them to a model."""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from cadence_llm._registry import describe_registry, describe_score, infer_role, roles_of

from .support import registry


def test_roles_are_read_from_signatures():
    """Cadences, bool-returning conditions, handlers, merges and notes are told apart."""
    roles = roles_of(registry())
    assert roles["cadence"] == ["payment_flow"]
    assert roles["condition"] == ["is_express"]
    assert roles["handler"] == ["report_failure"]
    assert roles["merge"] == ["merge_payment"]
    assert "load_order" in roles["note"]


def test_handler_recognised_by_parameter_name():
    """A two-argument function whose second parameter is called error is a handler."""

    def on_fail(score, error):
        return None

    assert infer_role(on_fail) == "handler"


def test_unknown_role_is_refused():
    """An explicit role outside the known ones fails with the list of roles."""
    with pytest.raises(ValueError, match="condition"):
        roles_of(registry(), {"load_order": "step"})


def test_description_groups_by_role_with_docstrings():
    """The prompt lists each role's names with the first docstring line."""
    text = describe_registry(registry())
    assert (
        "conditions (use as the condition of split):\n- is_express: True for express orders."
        in text
    )
    assert "- payment_flow: steps: charge" in text


def test_score_description_lists_fields():
    """A dataclass score is described by its fields and types."""

    @dataclass
    class S:
        order_id: str = ""
        total: float = 0.0

    assert describe_score(S) == "S(order_id: str, total: float)"
    assert describe_score("Given(x: int)") == "Given(x: int)"
