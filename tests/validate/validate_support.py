"""Shared helpers for the validator tests: the corpus table, a registry, an audit recorder."""

from __future__ import annotations

import csv
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from cadence import Cadence

CORPUS = Path(__file__).parent / "corpus"


@dataclass
class RagScore:
    """The score compositions in the corpus run on."""

    query: str = "what is cadence?"
    docs: list[str] = field(default_factory=list)
    answer: str = ""
    premium: bool = False
    log: list[str] = field(default_factory=list)


async def search_docs(score: RagScore) -> None:
    score.docs.append("doc")


async def search_web(score: RagScore) -> None:
    score.docs.append("web")


def answer(score: RagScore) -> None:
    score.answer = "+".join(score.docs) or "none"


def rerank(score: RagScore) -> None:
    score.docs.sort()


def classify(score: RagScore) -> None:
    score.premium = "premium" in score.query


def is_premium(score: RagScore) -> bool:
    return score.premium


def is_long(score: RagScore) -> bool:
    return len(score.query) > 40


def merge_payment(parent: RagScore, child: RagScore) -> None:
    parent.log.append(f"paid:{child.answer}")


def handle_error(score: RagScore, error: BaseException) -> None:
    score.log.append(f"error:{type(error).__name__}")


def make_child_score(parent: RagScore) -> RagScore:
    return RagScore(query=parent.query)


def charge(score: RagScore) -> None:
    score.answer = "charged"


def registry() -> dict[str, Any]:
    """A fresh registry: note functions, conditions, merges, and one child cadence."""
    return {
        "search_docs": search_docs,
        "search_web": search_web,
        "answer": answer,
        "rerank": rerank,
        "classify": classify,
        "is_premium": is_premium,
        "is_long": is_long,
        "merge_payment": merge_payment,
        "payment_flow": Cadence("payment", RagScore()).then("charge", charge),
        "handle_error": handle_error,
        "make_child_score": make_child_score,
    }


@dataclass(frozen=True)
class Case:
    """One row of ``corpus/expectations.csv``."""

    path: str
    mode: str
    registry: str
    expect: str

    @property
    def text(self) -> str:
        return (CORPUS / self.path).read_text(encoding="utf-8")

    def registry_value(self) -> Any:
        if self.registry == "@default":
            return registry()
        return self.registry.split()


def load_cases() -> list[Case]:
    """All corpus rows."""
    with (CORPUS / "expectations.csv").open(encoding="utf-8", newline="") as f:
        return [Case(**row) for row in csv.DictReader(f)]


class AuditRecorder:
    """Records sensitive audit events raised by this thread while armed.

    ``sys.addaudithook`` hooks cannot be removed, so one recorder is installed per session
    and armed only around the code under test.
    """

    WATCHED = (
        "import",
        "exec",
        "compile",
        "open",
        "os.",
        "subprocess.",
        "ctypes.",
        "socket.",
        "builtins.input",
        "code.",
        "marshal.",
        "pickle.",
        "shutil.",
        "sys._getframe",
        "object.__getattr__",
        "object.__setattr__",
    )

    def __init__(self) -> None:
        self.events: list[tuple[str, tuple[Any, ...]]] = []
        self.armed_thread: int | None = None

    def __call__(self, event: str, args: tuple[Any, ...]) -> None:
        if self.armed_thread != threading.get_ident():
            return
        if event.startswith(self.WATCHED) or event in self.WATCHED:
            self.events.append((event, args))

    def arm(self) -> None:
        self.events.clear()
        self.armed_thread = threading.get_ident()

    def disarm(self) -> list[tuple[str, tuple[Any, ...]]]:
        self.armed_thread = None
        return list(self.events)
