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


import asyncio

pipeline = Cadence("later", S()).then("a", a)


async def main() -> None:
    pending = pipeline.run()
    print(await pending)


def script() -> None:
    coro = pipeline.run(S(query="x"))
    print(asyncio.run(coro))
