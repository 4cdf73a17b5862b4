"""`.sync` merges that used to lose work: identical appends in dict scores and nested dicts,
and two tasks changing different fields of one nested dataclass or pydantic model."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import pydantic
import pytest

from cadence import Cadence, NoteError, Score


@dataclass
class Address:
    city: str = ""
    zip: str = ""


@dataclass
class Customer(Score):
    address: Address = field(default_factory=Address)
    data: dict[str, Any] = field(default_factory=dict)


class _Address(pydantic.BaseModel):
    city: str = ""
    zip: str = ""


class _Customer(pydantic.BaseModel):
    address: _Address = _Address()


def test_identical_appends_to_a_dict_scores_list_are_all_kept() -> None:
    """Two tasks appending the same item to a dict score's list keep both appends, as they do
    for a dataclass score (the second one was dropped as an 'agreed' value)."""

    def mark(score: dict[str, Any]) -> None:
        score["log"].append("checked")

    result = Cadence("c", {}).sync("g", [mark, mark]).run_sync({"log": ["start"]})
    assert result == {"log": ["start", "checked", "checked"]}


def test_identical_appends_to_a_list_inside_a_dict_field_are_all_kept() -> None:
    """The same for a list nested in a dict field of a dataclass score."""

    def hit(score: Customer) -> None:
        score.data["hits"].append(1)

    result = Cadence("c", Customer()).sync("g", [hit, hit]).run_sync(Customer(data={"hits": []}))
    assert result.data == {"hits": [1, 1]}


def test_equal_assignments_inside_a_dict_still_agree() -> None:
    """A nested value two tasks *assigned* equally is still one value, not two appends."""

    def assign(score: Customer) -> None:
        score.data["tags"] = ["vip"]

    result = Cadence("c", Customer()).sync("g", [assign, assign]).run_sync(Customer())
    assert result.data == {"tags": ["vip"]}


def test_different_fields_of_a_nested_dataclass_merge() -> None:
    """s.address.city in one task and s.address.zip in another both count (was a conflict)."""
    result = (
        Cadence("c", Customer())
        .sync(
            "g",
            [
                lambda s: setattr(s.address, "city", "Oslo"),
                lambda s: setattr(s.address, "zip", "01"),
            ],
        )
        .run_sync(Customer())
    )
    assert result.address == Address(city="Oslo", zip="01")


def test_different_fields_of_a_nested_pydantic_model_merge() -> None:
    """The same for a pydantic model nested in a pydantic score."""
    result = (
        Cadence("c", _Customer())
        .sync(
            "g",
            [
                lambda s: setattr(s.address, "city", "Oslo"),
                lambda s: setattr(s.address, "zip", "01"),
            ],
        )
        .run_sync(_Customer())
    )
    assert result.address == _Address(city="Oslo", zip="01")
    assert result.model_dump() == {"address": {"city": "Oslo", "zip": "01"}}


def test_one_nested_field_set_to_two_values_is_a_conflict_naming_it() -> None:
    """Two tasks setting the same nested field differently still conflict, named by its path."""
    with pytest.raises(NoteError, match=r"address\.city"):
        Cadence("c", Customer()).sync(
            "g",
            [
                lambda s: setattr(s.address, "city", "Oslo"),
                lambda s: setattr(s.address, "city", "Rome"),
            ],
        ).run_sync(Customer())


def test_a_dict_score_task_returning_a_new_dict_is_its_version() -> None:
    """A `.sync` task of a dict score may return a new dict, as a `.then` note may; it was
    dropped silently (a dataclass score's task could already do this)."""
    result = (
        Cadence("c", {})
        .sync("g", [lambda s: {**s, "a": 1}, lambda s: s.__setitem__("b", 2)])
        .run_sync({"z": 0})
    )
    assert result == {"z": 0, "a": 1, "b": 2}


def test_a_dict_score_task_returning_one_of_its_values_keeps_its_copy() -> None:
    """`s.setdefault("cfg", {})` returns a value the task's copy holds: the copy is its version."""
    result = (
        Cadence("c", {})
        .sync("g", [lambda s: s.setdefault("cfg", {}), lambda s: s.__setitem__("b", 2)])
        .run_sync({"z": 0})
    )
    assert result == {"z": 0, "cfg": {}, "b": 2}
