from dataclasses import dataclass, field


@dataclass
class Config:
    name: str = "x"
    tags: tuple = ()
    limits: frozenset = frozenset()
    items: list = field(default_factory=list)
    mapping: dict = field(default_factory=dict)
    maybe: list = None
