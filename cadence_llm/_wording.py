"""Every English word list of code generation, in one place to read, extend or translate.

The generator itself depends on no language: the plan's step boundaries are the model's choice,
the names it may write come from the registry, and every answer goes through the validator.
What English adds is *advice*, and only where a cue is present: a step whose own words say
"at the same time" is checked for a ``.sync``, one that says "otherwise" for a second branch.
A cue that is absent means "unknown", never "the task rules this out": nothing here can make
the library drop, rewrite or re-decode a step because a word was missing.

Used for: choosing the worked examples closest to a task (:func:`features`), the positive
checks of :mod:`cadence_llm._grounding`, and matching a step's words with registry names
(:func:`content_words`). To support another language, give each table its words.
"""

from __future__ import annotations

import functools
import re

__all__ = [
    "CUES",
    "STOPWORDS",
    "content_words",
    "features",
    "same_stem",
    "split_at_else",
    "stop_asked",
]

#: Words that say how, not what: left out when comparing words with registry names.
STOPWORDS = frozenset(
    """a an the and or then first finally after afterwards that this these those
    it its of to for with on in at by from as is are
    be been may can do nothing next also both each every all any some
    same step steps one two their them they if when otherwise else not last
    there should we our must just only was were has have had will would
    does did no so""".split()  # noqa: SIM905
)

#: Cue phrases per structure (regular expressions, case-insensitive). A match is a hint that
#: the words ask for that structure; no match says nothing.
CUES: dict[str, str] = {
    "sync": r"at the same time|in parallel|concurrent|simultaneous|together|side by side"
    r"|at once|alongside",
    "strategy": r"last[ _](write|value|result)|later write|same field|overwrit|conflict",
    "split": r"\b(if|when|whether|unless|otherwise|else|depending|in case)\b",
    "else": r"\botherwise\b|\belse\b|\bif not\b",
    "no_else": r"nothing|no-op|skip it",
    "child": r"\bchild (cadence|flow|workflow|process|run)|sub-?(cadence|flow|workflow|process)"
    r"|\bmerge\b.*\bback\b",
    "on_error": r"\bfails\b|step fail|failed step|goes wrong|go wrong|\berrors?\b|crash|failure",
    "carry_on": r"carry on|keep going|\bcontinu|go on\b|not stop|n't stop",
    "interrupt": r"interrupt|cancel",
}

#: Where a decision's otherwise part begins (used to tell a ``.split``'s branches apart).
_ELSE = re.compile(r"\b(?:otherwise|else|if not)\b", re.IGNORECASE)
#: Failure handling that says to stop (against an ``.on_error(..., stop=False)``).
_STOP = re.compile(r"\bstop", re.IGNORECASE)
_WORD = re.compile(r"[a-z0-9_']+")
_SENTENCE = re.compile(r"[.;]\s*")


def content_words(text: str) -> set[str]:
    """A text's content words: lower-cased, stop words left out, a plural ``s`` dropped."""
    out = set()
    for w in _WORD.findall(text.lower()):
        if w in STOPWORDS or len(w) < 2:
            continue
        out.add(w[:-1] if len(w) > 3 and w.endswith("s") and not w.endswith("ss") else w)
    return out


def same_stem(a: str, b: str) -> bool:
    """Whether two content words are one word in different forms ("assign", "assigned";
    "translate", "translating"): one starts with the other, or they share all but the last
    two letters of the shorter one, four letters at least."""
    short, long_ = sorted((a, b), key=len)
    if long_.startswith(short):
        return len(short) >= 3 or short == long_
    common = 0
    for x, y in zip(short, long_, strict=False):
        if x != y:
            break
        common += 1
    return common >= max(4, len(short) - 2)


@functools.cache
def _cues() -> dict[str, re.Pattern[str]]:
    return {name: re.compile(rx, re.IGNORECASE) for name, rx in CUES.items()}


@functools.cache
def features(text: str) -> frozenset[str]:
    """The structures whose cues ``text`` contains (an empty set means "no cue", not "none").

    Features: ``sync``, ``strategy``, ``split``, ``else``, ``child``, ``on_error``,
    ``carry_on``, ``interrupt``. In a sentence about failures or conflicting writes, "if" is
    not a decision: "if any step fails" is ``on_error``, not ``split``.
    """
    cues = _cues()
    found: set[str] = set()
    for clause in _SENTENCE.split(text):
        has = {name for name, rx in cues.items() if rx.search(clause)}
        found |= has & {"sync", "child", "interrupt", "strategy", "on_error"}
        if "on_error" in has:
            found |= has & {"carry_on"}
        if has & {"on_error", "strategy"} or {"no_else", "else"} <= has:
            continue
        if "else" in has and "no_else" not in has:
            found |= {"split", "else"}
        elif "split" in has:
            found.add("split")
    return frozenset(found)


def split_at_else(text: str) -> tuple[str, str] | None:
    """``(if part, otherwise part)`` of a decision's words, or None without an otherwise cue."""
    found = _ELSE.search(text)
    return None if found is None else (text[: found.start()], text[found.end() :])


def stop_asked(text: str) -> bool:
    """Whether failure-handling words say to stop."""
    return _STOP.search(text) is not None
