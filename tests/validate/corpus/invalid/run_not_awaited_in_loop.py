from dataclasses import dataclass, field

from cadence import Cadence, MergeStrategy, Score, note


@dataclass
class S(Score):
    query: str = ""
    items: list = field(default_factory=list)
    total: float = 0.0
    status: str = "new"


async def a(score: S) -> None:
    score.items.append("a")


def b(score: S) -> None:
    score.total += 1


async def c(score):
    score.status = "c"


def is_big(score: S) -> bool:
    return score.total > 10


def merge(parent: S, child: S) -> None:
    parent.items += child.items


async def main():
    pipeline = Cadence("x", S()).then("a", a)
    for _ in range(3):
        pipeline.run()  # expect: CAD402
