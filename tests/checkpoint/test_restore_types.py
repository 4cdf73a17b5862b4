"""Restored values are checked against the score's field annotations; depth is bounded."""

from __future__ import annotations

import dataclasses
import datetime as dt
import enum
from decimal import Decimal
from typing import Annotated, Any, Literal, NewType

import pytest
from pydantic import BaseModel

from cadence import AtomicDict, AtomicList, Score
from cadence.checkpoint import ScoreCodec
from cadence.checkpoint.codec import MAX_DEPTH
from cadence.exceptions import CheckpointError

OrderId = NewType("OrderId", str)


class Mode(enum.Enum):
    FAST = "fast"


@dataclasses.dataclass
class Line:
    sku: str = ""
    qty: int = 0


class Customer(BaseModel):
    name: str = ""
    vip: bool = False


@dataclasses.dataclass
class Basket(Score):
    order_id: OrderId = OrderId("")
    total: Decimal = Decimal(0)
    ratio: float = 0.0
    lines: list[Line] = dataclasses.field(default_factory=list)
    counts: dict[str, int] = dataclasses.field(default_factory=dict)
    pair: tuple[int, str] = (0, "")
    when: dt.datetime | None = None
    mode: Mode = Mode.FAST
    kind: Literal["retail", "wholesale"] = "retail"
    note: Annotated[str, "free text"] = ""
    customer: Customer | None = None
    seen: AtomicList[int] = dataclasses.field(default_factory=AtomicList)
    index: AtomicDict[str, int] = dataclasses.field(default_factory=AtomicDict)
    anything: Any = None


def tampered(field: str, value: Any, **more: Any) -> dict[str, Any]:
    """A checkpoint of a valid Basket whose ``field`` was replaced by an encoded ``value``."""
    codec = ScoreCodec()
    state = codec.encode_score(Basket(customer=Customer(name="ann")))
    state["fields"][field] = value
    state["fields"].update(more)
    return state


def test_well_typed_checkpoints_restore_as_before() -> None:
    """Every annotation form of the score accepts what the codec itself wrote."""
    codec = ScoreCodec()
    basket = Basket(
        order_id=OrderId("A-1"),
        total=Decimal("9.99"),
        ratio=1,  # an int where float is annotated is fine (numeric tower)
        lines=[Line("x", 2)],
        counts={"x": 2},
        pair=(1, "a"),
        when=dt.datetime(2026, 1, 2),
        kind="wholesale",
        customer=Customer(name="ann", vip=True),
        seen=AtomicList([1, 2]),
        index=AtomicDict({"a": 1}),
        anything={"any": ["thing", 1]},
    )
    restored = codec.restore(Basket(), codec.encode_score(basket))
    assert restored.lines == [Line("x", 2)] and restored.customer == basket.customer
    assert restored.seen.get_all() == [1, 2] and restored.ratio == 1


@pytest.mark.parametrize(
    ("field", "value", "path", "expected"),
    [
        ("total", "9.99", "$.total", "Decimal"),
        ("ratio", "high", "$.ratio", "float"),
        ("ratio", True, "$.ratio", "float"),
        ("order_id", 12, "$.order_id", "str"),
        (
            "lines",
            [{"$t": "dc", "c": f"{__name__}:Line", "f": {"qty": "two"}}],
            "$.lines[0].qty",
            "int",
        ),
        ("counts", {"x": "2"}, "$.counts['x']", "int"),
        ("pair", {"$t": "tuple", "v": [1, 2]}, "$.pair[1]", "str"),
        ("when", "2026-01-02", "$.when", "datetime"),
        ("kind", "resale", "$.kind", "Literal"),
        ("note", 5, "$.note", "str"),
        (
            "customer",
            {"$t": "model", "c": f"{__name__}:Customer", "f": {"vip": "yes"}},
            "$.customer.vip",
            "bool",
        ),
        ("seen", {"$t": "atomic_list", "v": ["one"]}, "$.seen[0]", "int"),
        ("lines", {"sku": "x"}, "$.lines", "list"),
    ],
)
def test_a_value_that_does_not_fit_its_field_is_refused_naming_the_path(
    field: str, value: Any, path: str, expected: str
) -> None:
    """A tampered or outdated checkpoint is CHECKPOINT_TYPE_MISMATCH at the value's path."""
    with pytest.raises(CheckpointError) as info:
        ScoreCodec().restore(Basket(), tampered(field, value))
    assert info.value.code == "CHECKPOINT_TYPE_MISMATCH"
    assert info.value.details["path"] == path, info.value.details
    assert expected in info.value.details["expected"] or expected in str(info.value)


def test_a_mismatch_leaves_the_score_untouched() -> None:
    """Nothing is written into the score when any field is refused."""
    basket = Basket(total=Decimal(5))
    with pytest.raises(CheckpointError):
        ScoreCodec().restore(basket, tampered("ratio", "high", total={"$t": "decimal", "v": "1"}))
    assert basket.total == Decimal(5)


def test_scores_nested_beyond_the_limit_fail_at_save_naming_the_path() -> None:
    """MAX_DEPTH levels encode; one more fails with CheckpointError at that path."""

    @dataclasses.dataclass
    class Tree(Score):
        root: Any = None

    def nest(levels: int) -> Any:
        value: Any = []
        for _ in range(levels - 1):
            value = [value]
        return value

    codec = ScoreCodec()
    ok = codec.encode_score(Tree(root=nest(MAX_DEPTH)))
    assert codec.restore(Tree(), ok).root == nest(MAX_DEPTH)
    with pytest.raises(CheckpointError, match="nested more than") as info:
        codec.encode_score(Tree(root=nest(MAX_DEPTH + 1)))
    assert info.value.details["path"].startswith("$.root[0]")


def test_stored_states_nested_beyond_the_limit_are_corrupt() -> None:
    """A hostile deeply nested state is CHECKPOINT_CORRUPT before decoding recurses."""
    value: Any = 0
    for _ in range(10_000):
        value = [value]
    with pytest.raises(CheckpointError) as info:
        ScoreCodec().restore(Basket(), tampered("anything", value))
    assert info.value.code == "CHECKPOINT_CORRUPT"
