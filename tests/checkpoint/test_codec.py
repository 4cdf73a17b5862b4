"""The typed JSON score codec: exact round-trips, early failures with paths, safe decoding."""

from __future__ import annotations

import contextlib
import dataclasses
import datetime as dt
import enum
import json
import math
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydantic import BaseModel, ConfigDict

from cadence import Atomic, AtomicDict, AtomicList, ImmutableScore, Score
from cadence.checkpoint import ScoreCodec
from cadence.exceptions import CheckpointError


class Color(enum.Enum):
    RED = "red"
    BLUE = 2


class Level(enum.IntEnum):
    LOW = 1
    HIGH = 2


@dataclasses.dataclass(frozen=True)
class Point:
    x: int
    y: float


class Client(BaseModel):
    name: str
    since: dt.date | None = None
    tags: set[str] = set()


@dataclasses.dataclass
class Box(Score):
    value: Any = None


@dataclasses.dataclass
class Order(Score):
    order_id: str = ""
    items: list[dict[str, Any]] = dataclasses.field(default_factory=list)
    client: Client | None = None
    where: Point | None = None
    color: Color = Color.RED
    results: AtomicList[Any] = dataclasses.field(default_factory=AtomicList)


@dataclasses.dataclass(frozen=True)
class Frozen(ImmutableScore):
    name: str = ""
    amount: Decimal = Decimal(0)


class PydScore(BaseModel):
    model_config = ConfigDict(frozen=True)
    query: str = ""
    when: dt.datetime | None = None


class Opaque:
    """A class the codec does not know."""


CODEC = ScoreCodec(types=[Point, Color, Level, Client])


def same(a: Any, b: Any) -> bool:
    """Equal *and* of the same types all the way down (1 is not 1.0, -0.0 is not 0.0)."""
    if type(a) is not type(b):
        return False
    if isinstance(a, float):
        return math.copysign(1, a) == math.copysign(1, b) and (
            a == b or (math.isnan(a) and math.isnan(b))
        )
    if isinstance(a, Decimal):
        return str(a) == str(b)
    if isinstance(a, dt.datetime | dt.time):
        return a == b and a.tzinfo == b.tzinfo and a.fold == b.fold and repr(a) == repr(b)
    if isinstance(a, list | tuple):
        return len(a) == len(b) and all(same(x, y) for x, y in zip(a, b, strict=True))
    if isinstance(a, dict):
        return a.keys() == b.keys() and all(same(a[k], b[k]) for k in a)
    if isinstance(a, AtomicList | AtomicDict | Atomic):
        return same(
            a.get_all() if not isinstance(a, Atomic) else a.get(),
            b.get_all() if not isinstance(b, Atomic) else b.get(),
        )
    if dataclasses.is_dataclass(a):
        return all(same(getattr(a, f.name), getattr(b, f.name)) for f in dataclasses.fields(a))
    if isinstance(a, BaseModel):
        return a == b and a.model_fields_set == b.model_fields_set
    return bool(a == b)


def roundtrip(value: Any) -> Any:
    text = json.dumps(CODEC.encode_score(Box(value=value)))  # must be plain JSON
    return CODEC.restore(Box(), json.loads(text)).value


scalars = (
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False)
    | st.text()
    | st.binary(max_size=20)
    | st.datetimes(timezones=st.none() | st.timezones() | st.just(dt.UTC))
    | st.dates()
    | st.times(timezones=st.none() | st.just(dt.timezone(dt.timedelta(hours=-3, minutes=-30))))
    | st.timedeltas()
    | st.decimals(allow_nan=False)
    | st.uuids()
    | st.sampled_from([*Color, *Level])
    | st.builds(Point, st.integers(), st.floats(allow_nan=False))
    | st.builds(
        Client, name=st.text(), since=st.none() | st.dates(), tags=st.sets(st.text(max_size=3))
    )
)
hashables = (
    st.integers() | st.text(max_size=5) | st.uuids() | st.tuples(st.integers(), st.text(max_size=3))
)
values = st.recursive(
    scalars,
    lambda inner: (
        st.lists(inner, max_size=4)
        | st.tuples(inner, inner)
        | st.dictionaries(st.text(max_size=5), inner, max_size=4)
        | st.dictionaries(hashables, inner, max_size=3)
        | st.sets(hashables, max_size=4)
        | st.frozensets(hashables, max_size=4)
        | st.builds(AtomicList, st.lists(inner, max_size=3))
        | st.builds(AtomicDict, st.dictionaries(st.text(max_size=3), inner, max_size=3))
        | st.builds(Atomic, inner)
    ),
    max_leaves=12,
)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(values)
def test_every_supported_value_round_trips_exactly(value: Any) -> None:
    """Nested values of every supported type come back equal and of the same types."""
    assert same(roundtrip(value), value)


def test_special_values_round_trip() -> None:
    """NaN, infinities, -0.0, Decimal specials, ZoneInfo and fold survive."""
    when = dt.datetime(2021, 11, 7, 1, 30, fold=1, tzinfo=ZoneInfo("America/New_York"))
    value = [
        float("nan"),
        float("inf"),
        -0.0,
        Decimal("NaN"),
        Decimal("-0.00"),
        Decimal("1E+3"),
        when,
        {"$t": "not a tag", "plain": 1},
        bytearray(b"\x00\xff"),
    ]
    back = roundtrip(value)
    assert math.isnan(back[0]) and back[1] == float("inf") and math.copysign(1, back[2]) == -1
    assert [str(x) for x in back[3:6]] == ["NaN", "-0.00", "1E+3"]
    assert same(back[6], when) and back[6].utcoffset() == when.utcoffset()
    assert back[7] == {"$t": "not a tag", "plain": 1}
    assert back[8] == bytearray(b"\x00\xff") and type(back[8]) is bytearray


def test_score_with_annotated_types_round_trips_without_registration() -> None:
    """Classes named by field annotations are allowed without ScoreCodec(types=...)."""
    order = Order(
        order_id="ORD-1",
        items=[{"sku": "a", "qty": 2}],
        client=Client(name="ada", since=dt.date(2020, 1, 2)),
        where=Point(1, 2.5),
        color=Color.BLUE,
        results=AtomicList([1, 2]),
    )
    codec = ScoreCodec()
    back = codec.loads(codec.dumps(order), Order())
    assert same(back, order)


def test_unsupported_value_fails_at_save_naming_its_path() -> None:
    """An unknown object deep inside the score fails encoding with the path ``$.items[3].client``."""
    order = Order(items=[{}, {}, {}, {"client": Opaque()}])
    with pytest.raises(CheckpointError) as info:
        ScoreCodec().encode_score(order)
    assert info.value.details["path"] == "$.items[3].client"
    assert "$.items[3].client" in str(info.value) and "Opaque" in str(info.value)


def test_unlisted_dataclass_fails_with_a_registration_hint() -> None:
    """A dataclass no annotation names fails at save and says how to allow it."""
    with pytest.raises(CheckpointError, match=r"ScoreCodec\(types=\[Point\]\)") as info:
        ScoreCodec().encode_score(Box(value=[Point(1, 2.0)]))
    assert info.value.details["path"] == "$.value[0]"


def test_reference_cycle_fails_at_save() -> None:
    """A list containing itself is reported, not recursed into forever."""
    loop: list[Any] = []
    loop.append(loop)
    with pytest.raises(CheckpointError, match="cycle"):
        CODEC.encode_score(Box(value=loop))


def test_frozen_scores_restore_in_place() -> None:
    """Frozen dataclass and frozen pydantic scores are restored into the given object."""
    codec = ScoreCodec()
    frozen = Frozen(name="x", amount=Decimal("9.99"))
    target = Frozen()
    assert codec.restore(target, codec.encode_score(frozen)) is target
    assert target == frozen
    pyd = PydScore(query="q", when=dt.datetime(2020, 1, 1, tzinfo=dt.UTC))
    target_pyd = PydScore()
    assert codec.restore(target_pyd, codec.encode_score(pyd)) is target_pyd
    assert target_pyd == pyd


def test_restore_does_not_rerun_post_init() -> None:
    """Restoring bypasses __post_init__, so a field it resets keeps its checkpointed value."""
    original = Aggregator()
    assert original.results is not None
    original.results.append("kept")
    state = ScoreCodec().encode_score(original)
    restored = ScoreCodec().restore(Aggregator(), state)
    assert restored.results.get_all() == ["kept"]


@dataclasses.dataclass
class Aggregator(Score):
    results: AtomicList[str] | None = None

    def __post_init__(self) -> None:
        super().__post_init__()
        self.results = AtomicList()


def test_checkpoint_of_another_class_is_refused() -> None:
    """State written for one score class does not load into another."""
    with pytest.raises(CheckpointError, match="Order"):
        ScoreCodec().restore(Box(), ScoreCodec().encode_score(Order()))


def test_classes_outside_the_allow_list_are_never_loaded() -> None:
    """A checkpoint naming an importable but unlisted class is rejected as corrupt."""
    state = {
        "format": "cadence.score/1",
        "class": f"{Box.__module__}:Box",
        "fields": {"value": {"$t": "dc", "c": "subprocess:Popen", "f": {"args": "true"}}},
    }
    with pytest.raises(CheckpointError) as info:
        CODEC.restore(Box(), state)
    assert info.value.code == "CHECKPOINT_CORRUPT" and "subprocess:Popen" in str(info.value)


def test_pickle_is_opt_in() -> None:
    """Unknown values are pickled only with allow_pickle=True, and only such a codec unpickles."""
    trusted = ScoreCodec(allow_pickle=True)
    state = trusted.encode_score(Box(value=Ticket(3)))
    assert trusted.restore(Box(), state).value == Ticket(3)
    with pytest.raises(CheckpointError, match="unknown tag 'pickle'"):
        ScoreCodec().restore(Box(), state)


class Ticket:
    def __init__(self, n: int) -> None:
        self.n = n

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Ticket) and other.n == self.n


def test_non_dataclass_score_is_refused_with_a_fix() -> None:
    """A plain object score cannot be checkpointed; the error says which scores can."""
    with pytest.raises(CheckpointError, match="dataclasses"):
        ScoreCodec().encode_score(Opaque())


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=200))
def test_fuzzed_bytes_raise_only_checkpoint_error(data: bytes) -> None:
    """Random bytes into the decoder either decode or raise CheckpointError, nothing else."""
    with contextlib.suppress(CheckpointError):
        CODEC.loads(data, Box())


json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats()
    | st.text(max_size=8)
    | st.sampled_from(
        [
            "$t",
            "dc",
            "model",
            "enum",
            "tuple",
            "set",
            "dict",
            "datetime",
            "time",
            "decimal",
            "uuid",
            "bytes",
            "atomic",
            "atomic_dict",
            "float",
            "pickle",
            f"{__name__}:Point",
            f"{__name__}:Color",
            f"{__name__}:Client",
            f"{__name__}:Box",
            "2020-01-01T00:00",
        ]
    ),
    lambda inner: (
        st.lists(inner, max_size=4)
        | st.dictionaries(
            st.sampled_from(["$t", "v", "c", "f", "x", "set", "zone", "off", "name", "fold", "a"]),
            inner,
            max_size=5,
        )
    ),
    max_leaves=15,
)


@settings(max_examples=500, deadline=None)
@given(json_values)
def test_fuzzed_structures_raise_only_checkpoint_error(value: Any) -> None:
    """Hostile well-formed JSON with tag-like shapes either decodes or raises CheckpointError."""
    state = {
        "format": "cadence.score/1",
        "class": f"{Box.__module__}:Box",
        "fields": {"value": value},
    }
    with contextlib.suppress(CheckpointError):
        CODEC.restore(Box(), state)


def test_module_renames_do_not_orphan_checkpoints() -> None:
    """State written by a script (``__main__:Order``) loads where the class lives in a module."""
    state = json.loads(json.dumps(CODEC.encode_score(Box(value=[Point(1, 2.0), Color.RED]))))
    state["class"] = "__main__:Box"
    state["fields"]["value"][0]["c"] = "__main__:Point"
    assert same(CODEC.restore(Box(), state).value, [Point(1, 2.0), Color.RED])
