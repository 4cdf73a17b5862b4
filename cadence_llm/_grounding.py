"""Task grounding: does an accepted composition do what its task says, step by step?

The validator can only say what is wrong with the *code*. The prompt pack asks a model to put a
``#`` comment before each method call quoting the part of the task that call does, and those
comments let us check the answer against the *task*:

- ``CAD701`` a step whose comment quotes nothing of the task (a step the task never asked for);
- ``CAD702`` a part of the task that no step's comment quotes (a missing step), or failure
  handling the task asks for and the cadence lacks (or the other way round);
- ``CAD703`` a comment that describes parallel work, a decision, a child cadence or failure
  handling above a call of another method (``# ... at the same time`` over a ``.then``); a
  ``.sync``, ``.split`` or ``.child`` the task never asks for; a ``.sync`` of one note;
- ``CAD704`` an option the comment asks for or rules out (``may be interrupted`` without
  ``can_interrupt=True``, ``carry on`` without ``stop=False``, ``otherwise ...`` without an
  ``if_false`` branch, ``last write wins`` without the strategy); ``.split`` branches whose
  notes fit the other part of the comment (by their names and descriptions); a ``.sync`` that
  leaves out a registry entry its comment names.

The findings are warnings: the answer is still valid code. :func:`cadence_llm.codegen
.generate_cadence` spends its repair rounds on them (re-decoding the step in anchored grammar
mode, see :func:`first_fix`) and keeps the valid answer with the fewest findings. The cue
phrases come from the prompt pack (``examples.json``), the same ones that choose the worked
examples. The comment checks need step comments; the whole-task checks always run.
"""

from __future__ import annotations

import io
import re
import tokenize
from collections.abc import Iterable, Mapping

from cadence.validate import Composition, Diagnostic, StepSpec
from cadence_llm import _prompts

__all__ = ["check_grounding", "first_fix", "misplaced_branches", "step_comments"]

_METHODS = frozenset(m["name"] for m in _prompts.spec()["methods"])
# Clause boundaries of a task: sentences, semicolons, commas, and "then" between actions.
_CLAUSES = re.compile(r"[.;:]\s*|,\s*(?:and\s+)?(?:then\s+)?|\s+(?:and\s+)?then\s+")


def step_comments(source: str, comp: Composition) -> list[tuple[int, str]]:
    """For each step of ``comp``: the line of its method call and the comment just above it.

    The comment is the run of ``#`` lines after the previous call; "" when there is none.
    """
    tokens = list(tokenize.generate_tokens(io.StringIO(source).readline))
    calls: list[int] = []
    comments: list[tuple[int, str]] = []
    for i, tok in enumerate(tokens):
        if tok.type == tokenize.COMMENT:
            comments.append((tok.start[0], tok.string.lstrip("#").strip()))
        elif (
            tok.type == tokenize.NAME
            and tok.string in _METHODS
            and i > 0
            and tokens[i - 1].string == "."
        ):
            calls.append(tok.start[0])
    # A composition's only attribute accesses are its builder calls, in order.
    if len(calls) != len(comp.steps):
        return [(step.line, "") for step in comp.steps]
    out = []
    previous = 0
    for line in calls:
        text = " ".join(c for n, c in comments if previous < n <= line)
        out.append((line, text))
        previous = line
    return out


def _clauses(task: str) -> list[str]:
    return [c.strip() for c in _CLAUSES.split(task) if c and _prompts.content_words(c)]


def _covered(part: set[str], by: Iterable[set[str]]) -> bool:
    """Whether one comment holds more than half of ``part``'s content words."""
    return any(len(part & words) * 2 > len(part) for words in by)


def _warn(code: str, line: int, message: str, hint: str) -> Diagnostic:
    return Diagnostic(code, "warning", line, 0, message, hint)


def _kind_of(comment: str) -> str | None:
    """What a comment asks for: "on_error", "sync", "split", or None for a plain step."""
    features = _prompts.task_features(comment)
    if "on_error" in features:
        return "on_error"
    if "sync" in features:
        return "sync"
    if "split" in features:
        return "split"
    if "child" in features:
        return "child"
    return None


_KIND_TEXT: dict[str, tuple[str, str]] = {
    "on_error": ("failure handling", ".on_error(handler)"),
    "sync": ("steps that run at the same time", '.sync("name", [note_a, note_b])'),
    "child": ("a child cadence", '.child("name", child_cadence, merge)'),
    "split": ("a decision", '.split("name", condition, [if_true_note], [if_false_note])'),
}


def _contradiction(step: StepSpec, comment: str, unasked: frozenset[str]) -> str | None:
    """Why the step's method contradicts its comment (or the whole task), or None.

    ``unasked``: the structures (``sync``, ``split``, ``child``) the task's wording never asks for.
    """
    kind = _kind_of(comment)
    if kind is not None and step.method != kind:
        what, _ = _KIND_TEXT[kind]
        return f"the comment {comment!r} describes {what}, but the step is .{step.method}()"
    if kind is None and step.method in unasked:
        what, _ = _KIND_TEXT[step.method]
        return f"the task never asks for {what}, but {comment!r} is a .{step.method}()"
    notes = step.args.get("tasks")
    if step.method == "sync" and isinstance(notes, tuple) and len(notes) < 2 and kind is None:
        return f"a .sync of one note runs nothing in parallel, and {comment!r} does not ask for it"
    return None


def _unasked(task: str) -> frozenset[str]:
    return frozenset({"sync", "split", "child"}) - _prompts.task_features(task)


def _method_findings(
    step: StepSpec, line: int, comment: str, unasked: frozenset[str]
) -> list[Diagnostic]:
    why = _contradiction(step, comment, unasked)
    if why is None:
        return []
    kind = _kind_of(comment)
    hint = (
        f"write {_KIND_TEXT[kind][1]} for this part of the task"
        if kind is not None
        else "write this part of the task as a .then step"
    )
    return [_warn("CAD703", line, why, hint)]


def _affinity(refs: object, part: set[str], docs: Mapping[str, str]) -> int:
    """How well registry entries fit a part of a comment: shared words, a name's counting twice
    (a name is more specific than its description)."""
    score = 0
    for ref in refs if isinstance(refs, tuple) else (refs,):
        name = getattr(ref, "name", None)
        if isinstance(name, str):
            score += 2 * len(_prompts.content_words(name.replace("_", " ")) & part)
            score += len(_prompts.content_words(docs.get(name, "")) & part)
    return score


_ELSE = re.compile(r"\b(?:otherwise|else|if not)\b", re.IGNORECASE)


def misplaced_branches(step: StepSpec, comment: str, docs: Mapping[str, str]) -> set[str]:
    """For a two-branch ``.split``: ``"first:<note>"`` when the if-true branch's first note fits
    the comment's otherwise part better than its if part, or nothing of its if part;
    ``"else:<note>"`` the same the other way round."""
    found = _ELSE.search(comment)
    yes, no = step.args.get("if_true"), step.args.get("if_false")
    if step.method != "split" or not isinstance(yes, tuple) or not isinstance(no, tuple):
        return set()
    if not yes or not no or found is None:
        return set()
    before = _prompts.content_words(comment[: found.start()])
    after = _prompts.content_words(comment[found.end() :])
    out = set()
    fit = _affinity(yes[0], before, docs)
    if fit < _affinity(yes[0], after, docs) or fit == 0:
        out.add(f"first:{yes[0].name}")
    fit = _affinity(no[0], after, docs)
    if fit < _affinity(no[0], before, docs) or fit == 0:
        out.add(f"else:{no[0].name}")
    return out


def _option_problems(
    step: StepSpec, comment: str, docs: Mapping[str, str]
) -> list[tuple[str, str, str]]:
    """``(fix, message, hint)`` for each option of ``step`` its comment contradicts.

    ``fix`` names the repair: ``interrupt``, ``carry_on``, ``stop``, ``else``, ``no_else``,
    ``strategy``, ``branches`` (the ``.split``'s notes the other way round) or ``more_notes``
    (the comment names a registry entry the ``.sync`` leaves out; ``docs`` maps the registry's
    names to their descriptions).
    """
    features = _prompts.task_features(comment)
    args = step.args
    out = []
    if "interrupt" in features and step.method == "then" and not args.get("can_interrupt"):
        message = f"the comment {comment!r} says the step may be interrupted"
        out.append(
            (
                "interrupt",
                message,
                'add can_interrupt=True: .then("name", note, can_interrupt=True)',
            )
        )
    if step.method == "on_error":
        stops = args.get("stop", True) is not False
        if "carry_on" in features and stops:
            message = f"the comment {comment!r} says to carry on after a failure"
            out.append(("carry_on", message, "add stop=False"))
        elif "carry_on" not in features and not stops and re.search(r"\bstop", comment, re.I):
            message = f"the comment {comment!r} says to stop after a failure"
            out.append(("stop", message, "remove stop=False"))
    if step.method == "split":
        if "else" in features and not args.get("if_false"):
            message = f"the comment {comment!r} has an 'otherwise' branch but the .split has none"
            hint = "add the list of notes for the otherwise case as the fourth argument"
            out.append(("else", message, hint))
        elif "else" not in features and args.get("if_false"):
            message = f"the .split has an otherwise branch that {comment!r} does not ask for"
            out.append(("no_else", message, "remove the fourth argument"))
    if "else" in features and misplaced_branches(step, comment, docs):
        message = f"the .split's branches do not match the comment {comment!r}"
        hint = "the first list runs when the condition holds, the second list otherwise"
        out.append(("branches", message, hint))
    if step.method == "sync":
        members = args.get("tasks")
        used = {ref.name for ref in members} if isinstance(members, tuple) else set()
        said = _prompts.content_words(comment)
        named = [
            name
            for name in docs
            if name not in used and _prompts.content_words(name.replace("_", " ")) <= said
        ]
        if named:
            message = f"the comment {comment!r} also names {', '.join(named)}, which the .sync does not run"
            out.append(("more_notes", message, f"add {', '.join(named)} to the .sync's list"))
    if step.method == "sync" and "strategy" in features and not args.get("merge_strategy"):
        message = f"the comment {comment!r} says how conflicting writes are resolved"
        hint = 'add the strategy as the third argument, e.g. "last_write_wins"'
        out.append(("strategy", message, hint))
    return out


def _option_findings(
    step: StepSpec, line: int, comment: str, docs: Mapping[str, str]
) -> list[Diagnostic]:
    return [
        _warn("CAD704", line, message, hint)
        for _, message, hint in _option_problems(step, comment, docs)
    ]


def first_fix(
    source: str, comp: Composition, task: str, docs: Mapping[str, str] | None = None
) -> tuple[int, str] | None:
    """The first step its comment contradicts, and how to re-decode it: ``(index, fix)``.

    ``fix`` is ``"method"`` (write the step with another method) or one of the option fixes of
    :func:`_option_problems`.
    """
    unasked = _unasked(task)
    for i, (step, (_, comment)) in enumerate(
        zip(comp.steps, step_comments(source, comp), strict=True)
    ):
        if not comment:
            continue
        if _contradiction(step, comment, unasked) is not None:
            return i, "method"
        problems = _option_problems(step, comment, docs or {})
        if problems:
            return i, problems[0][0]
    return None


_QUALIFIERS = frozenset({"on_error", "strategy", "interrupt", "carry_on"})


def _task_findings(
    comp: Composition, lines: list[int], task: str, reported: set[str]
) -> list[Diagnostic]:
    """Whole-task checks: the structures the task's wording asks for against the steps used."""
    wanted = _prompts.task_features(task)
    used = _prompts.composition_features(comp)
    first = {s.method: line for s, line in zip(comp.steps, lines, strict=True)}
    end = max(lines)
    out = []
    for feature, (code, asked, not_asked) in _TASK_CHECKS.items():
        if feature in reported or (feature in wanted) == (feature in used):
            continue
        if feature in wanted:
            out.append(_warn(code, end, asked[0], asked[1]))
        else:
            method = "sync" if feature == "strategy" else feature
            out.append(_warn(code, first.get(method, end), not_asked[0], not_asked[1]))
    return out


_TASK_CHECKS: dict[str, tuple[str, tuple[str, str], tuple[str, str]]] = {
    "sync": (
        "CAD703",
        (
            "the task says some steps run at the same time, but no step is a .sync",
            'put those notes in one .sync("name", [note_a, note_b])',
        ),
        (
            "the task never says steps run at the same time, but a step is a .sync",
            "write each note as its own .then step",
        ),
    ),
    "split": (
        "CAD703",
        (
            "the task makes a decision (if/when), but no step is a .split",
            '.split("name", condition, [if_true_note], [if_false_note])',
        ),
        ("the task makes no decision, but a step is a .split", "use .then steps"),
    ),
    "else": (
        "CAD704",
        (
            "the task says what to do otherwise, but the .split has no otherwise branch",
            "add the list of notes for the otherwise case as the fourth argument",
        ),
        (
            "the task says nothing happens otherwise, but the .split has an otherwise branch",
            "remove the fourth argument of .split",
        ),
    ),
    "child": (
        "CAD703",
        (
            "the task runs a child cadence, but no step is a .child",
            '.child("name", child_cadence, merge)',
        ),
        ("the task runs no child cadence, but a step is a .child", "use .then steps"),
    ),
    "on_error": (
        "CAD702",
        (
            "the task says what to do when a step fails, but there is no .on_error",
            "add .on_error(handler) as the last call",
        ),
        (
            "the task says nothing about failures, but there is an .on_error",
            "remove the .on_error call",
        ),
    ),
    "carry_on": (
        "CAD704",
        ("the task says to carry on after a failure", "write .on_error(handler, stop=False)"),
        (
            "the task does not say to carry on after a failure, but .on_error has stop=False",
            "write .on_error(handler) without stop=False",
        ),
    ),
    "interrupt": (
        "CAD704",
        (
            "the task says a step may be interrupted, but no step has can_interrupt=True",
            'add can_interrupt=True to that step: .then("name", note, can_interrupt=True)',
        ),
        ("the task never says a step may be interrupted", "remove can_interrupt=True"),
    ),
    "strategy": (
        "CAD704",
        (
            "the task says how conflicting writes of the parallel notes are resolved",
            'pass the strategy as the third argument of .sync, e.g. "last_write_wins"',
        ),
        ("the task does not name a merge strategy", "remove the third argument of .sync"),
    ),
}


def check_grounding(
    source: str,
    comp: Composition,
    task: str,
    *,
    docs: Mapping[str, str] | None = None,
    limit: int = 4,
) -> list[Diagnostic]:
    """Warnings where the accepted composition ``comp`` (from ``source``) departs from ``task``.

    Comment checks (CAD701, CAD703, CAD704 per step; CAD702 per action clause of the task) need
    step comments and are skipped when the answer has none; the whole-task checks (the
    structures the task's wording asks for against those the composition uses) always run.
    At most ``limit`` findings are returned, in line order: a small model fixes a few pointed
    findings better than a long list.
    """
    steps = step_comments(source, comp)
    lines = [line for line, _ in steps]
    out: list[Diagnostic] = []
    reported: set[str] = set()
    unasked = _unasked(task)
    if any(comment for _, comment in steps):
        task_words = _prompts.content_words(task)
        comment_words = []
        for step, (line, comment) in zip(comp.steps, steps, strict=True):
            words = _prompts.content_words(comment)
            comment_words.append(words)
            if not comment:
                continue
            if words and len(words & task_words) * 2 < len(words):
                out.append(
                    _warn(
                        "CAD701",
                        line,
                        f"the task does not ask for this step: {comment!r} is not part of the task",
                        "remove this step; write only the steps the task describes",
                    )
                )
                continue
            found = _method_findings(step, line, comment, unasked) + _option_findings(
                step, line, comment, docs or {}
            )
            if found:
                reported |= _prompts.task_features(comment) | {step.method}
            out += found
        for clause in _clauses(task):
            # Qualifiers ("if a step fails", "the last write wins") are checked as a whole below.
            if _prompts.task_features(clause) & _QUALIFIERS:
                continue
            if not _covered(_prompts.content_words(clause), comment_words):
                out.append(
                    _warn(
                        "CAD702",
                        max(lines),
                        f"no step does this part of the task: {clause!r}",
                        "add a step for it in the task's order, or quote it in the comment "
                        "of the step that does it",
                    )
                )
    out += _task_findings(comp, lines, task, reported)
    out.sort(key=lambda d: d.line)
    return out[:limit]
