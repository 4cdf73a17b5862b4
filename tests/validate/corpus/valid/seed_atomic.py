from dataclasses import dataclass
from cadence import Score, AtomicList, AtomicDict


@dataclass
class AggregatorScore(Score):
    results: AtomicList = None
    cache: AtomicDict = None

    def __post_init__(self):
        super().__post_init__()
        self.results = AtomicList()
        self.cache = AtomicDict()


# Safe concurrent updates
score.results.append(new_result)
score.cache["key"] = value
