from dataclasses import dataclass

from cadence import Cadence, Score, note


@dataclass
class Base(Score):
    status: str = ""


@dataclass
class Child(Base):
    detail: str = ""

    def __post_init__(self) -> None:
        super().__post_init__()
        self.computed = 1


@note(fallback={"default": "x", "field": "status"})
async def one(score: Child) -> None:
    score.status = "one"


@note(fallback={"default": 0, "field": "computed"})
async def two(score: Child) -> None:
    score.computed = 2


pipeline = Cadence("inh", Child()).then("one", one).then("two", two)
