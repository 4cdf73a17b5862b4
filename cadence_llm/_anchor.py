"""Grammars that anchor each step to the task's own words, in any language.

Before each step the model copies a run of the task's words (a plan step's ``covers``, or the
``#`` comment above a call): the runs follow the task's order, never overlap, and together
cover every word of the task. A run may end after any word that ends in punctuation (or, in a
task without inner punctuation, after any word); whether it does is the model's choice, so it
may join several clauses into one step, and words that are no step of their own ("For a
support ticket:", "in that order") go with the step before or after them: nothing forces an
extra step. Nothing here knows a language: words are what the task has between spaces, and
punctuation is what Unicode says it is. What anchoring rules out is what small models
otherwise do: invent steps the task never mentions, drop or skip parts of it, or run on after
its end.

:func:`anchored_rules` builds the rules for one layout (:data:`PLAN` or :data:`COMPOSITION`);
with a :class:`Resume`, the grammar keeps an earlier answer up to one step's method and lets
the model write that step again (see :func:`cadence_llm.codegen.generate_cadence`).
"""

from __future__ import annotations

import json
import re
import unicodedata
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

__all__ = [
    "ANCHOR_MAX_WORDS",
    "COMPOSITION",
    "PLAN",
    "Layout",
    "Resume",
    "anchored_rules",
    "anchors",
    "covered_spans",
    "ends_run",
    "run_ends",
    "task_words",
    "word_ends",
]

#: Most words of a task a grammar anchors; longer tasks get free text where the words go.
ANCHOR_MAX_WORDS = 300
#: Unicode punctuation classes that may end a run: other (``,.;:!?``), closing, final quote.
_ENDING = frozenset({"Po", "Pe", "Pf"})


@dataclass(frozen=True, slots=True)
class Layout:
    """Where the task's words go in an answer.

    ``head`` is GBNF for the answer's start up to the first run; ``open`` the literal before
    every later run; ``close`` the literal between a run and its step (which starts with the
    method name); ``end`` the literal after the last step.
    """

    head: str
    open: str
    close: str
    end: str
    json_words: bool


PLAN = Layout(
    head='"{\\"name\\": \\"" cadence-name "\\", \\"steps\\": [\\n  {\\"covers\\": \\""',
    open='},\n  {"covers": "',
    close='", "kind": "',
    end="}\n]}",
    json_words=True,
)
COMPOSITION = Layout(
    head='"(\\n    Cadence(" step-name ", score)\\n    # "',
    open="\n    # ",
    close="\n    .",
    end="\n)",
    json_words=False,
)


@dataclass(frozen=True, slots=True)
class Resume:
    """Write one step of an earlier anchored answer again.

    Keep ``prefix`` (the answer up to where that step's method name starts), write the step
    with any method but those in ``exclude`` (``force``: with these parameters set, a value of
    None leaving one out; ``avoid_first``: a list parameter that may not start with these
    names), then go on with the task from word ``next_word``.
    """

    prefix: str
    next_word: int
    exclude: frozenset[str] = frozenset()
    only: str | None = None
    force: Mapping[str, Any] = field(default_factory=dict)
    avoid_first: Mapping[str, frozenset[str]] = field(default_factory=dict)


def anchors(task: str) -> bool:
    """Whether a grammar anchors the steps of ``task`` (it has words, not too many)."""
    return 0 < len(task_words(task)) <= ANCHOR_MAX_WORDS


def task_words(task: str) -> list[str]:
    """The task's words as an anchored grammar spells them (split at whitespace)."""
    return task.split()


def _lit(text: str) -> str:
    return json.dumps(text)


def ends_run(word: str) -> bool:
    """Whether a run may end after ``word``: it ends in punctuation (Unicode's classes)."""
    return bool(word) and unicodedata.category(word[-1]) in _ENDING


def _dash(word: str) -> bool:
    return bool(word) and all(unicodedata.category(c) == "Pd" for c in word)


def word_ends(words: Sequence[str]) -> list[int]:
    """Indices of ``words`` (but the last) after which a run may end: a word ending in
    punctuation, or one before a dash standing alone (``-``, ``–``, ``—`` set a part apart)."""
    return [k for k, w in enumerate(words[:-1]) if ends_run(w) or _dash(words[k + 1])]


def run_ends(task: str) -> set[int]:
    """Word indices after which a run may end: a word ending in punctuation or before a lone
    dash (:func:`word_ends`), a word at the end of a line (a list item, a line of its own),
    and the last word.

    Punctuation is any character Unicode classes as such (``,`` ``;`` ``.`` ``:`` ``!`` ``?``,
    ``、`` ``。`` ...), so this knows no language. A task without inner punctuation or line
    breaks may end a run after any word.
    """
    words = task_words(task)
    ends = set(word_ends(words)) | (set(_line_ends(task)) & set(range(len(words) - 1)))
    return ends | {len(words) - 1} if ends else set(range(len(words)))


def _line_ends(task: str) -> list[int]:
    """Indices of the words a line break follows."""
    out, k = [], -1
    for piece in re.split(r"(\s+)", task.strip()):
        if not piece:
            continue
        if piece.isspace():
            if "\n" in piece and k >= 0:
                out.append(k)
        else:
            k += 1
    return out


def anchored_rules(task: str, layout: Layout, resume: Resume | None = None) -> list[str] | None:
    """``root`` and the word rules: runs of the task's words before each ``step``.

    ``w<k>`` continues a run at word *k*, ``n<k>`` is what may follow a step whose run ended
    before word *k*. Every word is in one run, in order; a run ends only where
    :func:`run_ends` allows. None when the task is empty or longer than
    :data:`ANCHOR_MAX_WORDS`.
    """
    words = task_words(task)
    n = len(words)
    if not words or n > ANCHOR_MAX_WORDS:
        return None
    ends = run_ends(task)
    if resume is None:
        lines = [f"root ::= {layout.head} w0"]
    else:
        lines = [f"root ::= {_lit(resume.prefix)} step-resume n{resume.next_word}"]
    for k, word in enumerate(words):
        text = json.dumps(word)[1:-1] if layout.json_words else word
        end = f"{_lit(layout.close)} step n{k + 1}"
        if k == n - 1:
            go_on = end
        elif k in ends:
            go_on = f'(" " w{k + 1} | {end})'
        else:
            go_on = f'" " w{k + 1}'
        lines.append(f"w{k} ::= {_lit(text)} {go_on}")
    for k in range(1, n):
        lines.append(f"n{k} ::= {_lit(layout.open)} w{k}")
    lines.append(f"n{n} ::= {_lit(layout.end)}")
    return lines


def covered_spans(task: str, runs: Sequence[str]) -> list[tuple[int, int]] | None:
    """The ``(first, last)`` word indices of each run an anchored answer copied, in order.

    Each run is matched at the earliest place after the previous one (a parse the grammar
    accepts). None when a run is not a run of the task's words there.
    """
    words = task_words(task)
    out, start = [], 0
    for run in runs:
        said = run.split()
        if not said:
            return None
        for i in range(start, len(words) - len(said) + 1):
            if words[i : i + len(said)] == said:
                out.append((i, i + len(said) - 1))
                start = i + len(said)
                break
        else:
            return None
    return out
