"""Task grounding: where an accepted composition departs from what its own words say.

The validator can only say what is wrong with the *code*. Each step of a generated cadence
carries the task's words it does (a plan step's ``covers``, rendered as the ``#`` comment above
its call), and those words are checked against the step, **only where they hold a cue**
(:mod:`cadence_llm._wording`): a cue that is absent means "unknown", never "the task rules this
out", so no finding ever says a step should not exist or should lose a branch.

- ``CAD701`` a step whose words are not the task's (a step the task never asked for);
- ``CAD702`` failure handling the task's words ask for and no step does;
- ``CAD703`` a step whose words describe parallel work or a child cadence, or a decision on
  a registry condition that fits them, written as another method; words that also name a
  registry note no step uses (two steps' words in one); a ``.sync`` of one note; a group that
  lists a note twice; an ``.on_error`` a later one replaces; such a structure the task's words
  ask for and no step has;
- ``CAD704`` an option the step's words ask for and the step lacks (``may be interrupted``,
  ``carry on``, ``stop``, a merge strategy), or ``.split`` branches whose first notes, swapped,
  fit the two parts of the words better in all (by the notes' names and descriptions).

The findings are warnings: the answer is still valid code. :func:`cadence_llm.codegen
.generate_cadence` writes a step again where :func:`first_fix` says how (anchored answers), and
keeps the valid answer with the fewest findings.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from cadence.validate import Composition, Diagnostic, StepSpec
from cadence_llm import _wording
from cadence_llm._anchor import word_ends
from cadence_llm._plan import step_comments
from cadence_llm._prompts import spec

__all__ = [
    "Fix",
    "check_grounding",
    "decided_by",
    "first_fix",
    "misplaced_branches",
    "second_step",
    "step_comments",
]


@dataclass(frozen=True, slots=True)
class Fix:
    """How to write a step again: ``kind`` (the method to use; None: any other than the step's),
    ``force`` (parameters to set), ``avoid_first`` (list parameters that may not start with
    these names), and the finding it answers."""

    finding: Diagnostic
    kind: str | None = None
    force: Mapping[str, Any] = field(default_factory=dict)
    avoid_first: Mapping[str, frozenset[str]] = field(default_factory=dict)
    #: End the step's words after this word (an index into them): the rest is another step.
    cut: int | None = None
    #: Notes the step may not start with, in any kind (another step runs them already).
    taken: frozenset[str] = frozenset()


def _warn(code: str, line: int, message: str, hint: str) -> Diagnostic:
    return Diagnostic(code, "warning", line, 0, message, hint)


#: Structures whose cues are specific enough to say what a step is ("in parallel", "child
#: cadence"): the method, and how a finding names it. "if"/"when" (a decision) and "error"
#: (failure handling) also appear in the words of other steps ("if that breaks", "when that
#: is done", "check the logs for errors"), so they never decide a step's method.
_KINDS: dict[str, tuple[str, str]] = {
    "sync": ("steps that run at the same time", '.sync("name", [note_a, note_b])'),
    "child": ("a child cadence", '.child("name", child_cadence, merge)'),
}


def _kind_of(words: str) -> str | None:
    """The structure a step's words ask for (a specific cue), or None."""
    found = _wording.features(words)
    return next((kind for kind in _KINDS if kind in found), None)


def _affinity(refs: object, part: set[str], docs: Mapping[str, str]) -> int:
    """How well registry entries fit some words: shared words, a name's counting twice."""
    score = 0
    for ref in refs if isinstance(refs, tuple) else (refs,):
        name = getattr(ref, "name", None)
        if isinstance(name, str):
            score += 2 * len(_wording.content_words(name.replace("_", " ")) & part)
            score += len(_wording.content_words(docs.get(name, "")) & part)
    return score


def misplaced_branches(step: StepSpec, words: str, docs: Mapping[str, str]) -> dict[str, str]:
    """For a two-branch ``.split`` whose branches fit ``words`` better the other way round:
    ``{"if_true": note}`` when the if-true branch's first note fits the otherwise part of the
    words better than the if part, and the same for ``"if_false"``.

    Empty without an otherwise cue (then nothing can be told), and unless the two first notes
    swapped fit the two parts better in all: one note that also shares a word with the other
    part is no evidence against an answer whose branches fit as a whole.
    """
    parts = _wording.split_at_else(words)
    yes, no = step.args.get("if_true"), step.args.get("if_false")
    if step.method != "split" or parts is None or not isinstance(yes, tuple):
        return {}
    if not isinstance(no, tuple) or not yes or not no:
        return {}
    before, after = (_wording.content_words(p) for p in parts)
    fit = {
        (ref.name, part): _affinity(ref, words_, docs)
        for ref in (yes[0], no[0])
        for part, words_ in (("if", before), ("else", after))
    }
    as_written = fit[yes[0].name, "if"] + fit[no[0].name, "else"]
    swapped = fit[yes[0].name, "else"] + fit[no[0].name, "if"]
    if swapped <= as_written:
        return {}
    out = {}
    # Only a better fit elsewhere counts: a note sharing no word with either part is unknown.
    if fit[yes[0].name, "if"] < fit[yes[0].name, "else"]:
        out["if_true"] = yes[0].name
    if fit[no[0].name, "else"] < fit[no[0].name, "if"]:
        out["if_false"] = no[0].name
    return out


def decided_by(words: str, docs: Mapping[str, str], conditions: Iterable[str]) -> str | None:
    """The registry condition that ``words`` describe a decision on, or None.

    Both must hold: the words have a decision cue ("if", "when", "unless", ...), and one
    condition fits them (shares at least two different content words with them through its
    name and description; the best fit wins, a word of the name counting twice). "If that
    breaks" has the cue but fits no condition, nor does "when an impression arrives" fit
    ``impression_is_usable`` (one shared word: an event, not a decision on it).
    """
    if "split" not in _wording.features(words):
        return None
    part = _wording.content_words(words)
    fits = [
        (_affinity(_Named(c), part, docs), c)
        for c in conditions
        if len((_name_words(c) | _wording.content_words(docs.get(c, ""))) & part) >= 2
    ]
    best = max(fits, default=(0, ""))
    return best[1] if best[0] else None


@dataclass(frozen=True, slots=True)
class _Named:
    name: str


def _name_words(name: str) -> set[str]:
    return _wording.content_words(name.replace("_", " "))


def _span(said: list[set[str]], name: str) -> tuple[int, int] | None:
    """Where ``name`` is named in words (their content words, one set per word): the first and
    last of the first words holding each content word of the name (two at least, in any of
    its forms: :func:`cadence_llm._wording.same_stem`), or None."""
    parts = _name_words(name)
    if len(parts) < 2:
        return None
    firsts = []
    for part in parts:
        at = next(
            (i for i, ws in enumerate(said) if any(_wording.same_stem(part, w) for w in ws)),
            None,
        )
        if at is None:
            return None
        firsts.append(at)
    return min(firsts), max(firsts)


#: A role whose entries fill a step's first slot -> the method such a step is.
_ROLE_METHOD = {"handler": "on_error", "cadence": "child"}


def _sentence_end(words: Sequence[str], ends: Sequence[int], default: int) -> int:
    """The last of ``ends`` that a capitalised word follows (a new sentence, in any cased
    script), else ``default``."""
    starts = [e for e in ends if next((c for c in words[e + 1] if c.isalpha()), "a").isupper()]
    return starts[-1] if starts else default


def second_step(
    step: StepSpec, words: str, unused: Iterable[str], roles: Mapping[str, str] | None = None
) -> tuple[str, int | None] | None:
    """``(entry, cut)`` when ``words`` also name a registry entry no step uses, in a part of
    them the step's own entries are not in: the words of two steps, given to one.

    An entry is named when every content word of its name (two at least) is in the words, in
    any form; ``cut`` is the word after which the step's words should end (after punctuation,
    between the two parts). It is None when the words name none of the step's own entries and
    the entry is a handler or a child cadence (``roles``), or the step is an ``.on_error`` or a
    ``.child`` (which run no note): then the words are the entry's own step. A ``.sync`` or
    ``.split`` names several entries by nature: for one, only an entry named wholly before or
    after its own ones counts.
    Structural, in any language the names are written in.
    """
    split = words.split()
    said = [_wording.content_words(w) for w in split]
    if len(said) < 2:
        return None
    ends = word_ends(split)
    own = [_span(said, r.name) for r in _refs(step) if r is not None]
    named = [at for at in own if at is not None]
    if step.method in ("sync", "split"):
        if not named:
            return None
        first_own = min(at[1] for at in named)
        last_own = max(at[1] for at in named)
        for entry in sorted(unused):
            at = _span(said, entry)
            if at is None:
                continue
            before = [e for e in ends if at[1] <= e < first_own]
            after = [e for e in ends if last_own <= e < at[0]]
            if before:
                return entry, before[0]
            if after:
                return entry, after[-1]
        return None
    own_at = min((at[0] for at in named), default=None)
    for entry in sorted(unused):
        at = _span(said, entry)
        if at is None:
            continue
        before = [e for e in ends if e < at[0] and (own_at is None or own_at <= e)]
        after = [e for e in ends if e >= at[1] and (own_at is None or own_at > e)]
        role = (roles or {}).get(entry, "note")
        if own_at is None and (role in _ROLE_METHOD or step.method in ("on_error", "child")):
            return entry, None  # the words are that entry's step, not this one's
        if before:
            return entry, _sentence_end(split, before, before[-1])
        if after:
            # The entry's part first: end it before the step's own part (right after the
            # entry's name when the step's own entries are not named).
            return entry, after[0] if own_at is None else _sentence_end(split, after, after[-1])
    return None


def _refs(step: StepSpec) -> list[Any]:
    out: list[Any] = []
    for value in step.args.values():
        out += list(value) if isinstance(value, tuple) else [value]
    return [v for v in out if hasattr(v, "name")]


def _named_twice(step: StepSpec) -> str | None:
    """The first note a list argument of ``step`` names twice, or None."""
    for value in step.args.values():
        if isinstance(value, tuple):
            seen: set[str] = set()
            for ref in value:
                name = getattr(ref, "name", None)
                if name in seen:
                    return str(name)
                if name is not None:
                    seen.add(name)
    return None


def _step_fixes(
    step: StepSpec,
    line: int,
    words: str,
    docs: Mapping[str, str],
    methods: frozenset[str],
    conditions: frozenset[str] = frozenset(),
    unused: frozenset[str] = frozenset(),
    roles: Mapping[str, str] | None = None,
) -> list[Fix]:
    """Every way ``step`` departs from the cues in its own ``words`` (each with its fix)."""
    found = _wording.features(words)
    kind = _kind_of(words)
    roles = roles or {}
    out = []
    members = step.args.get("tasks")
    twice = _named_twice(step)
    if twice is not None and kind != step.method:
        # Structural, in any language: a group that lists a note twice runs it twice, which
        # no task asks for; small models pad a step whose words ask for no action this way.
        message = f"this .{step.method}() lists {twice} twice ({words!r})"
        hint = "list each note once, or write these words as another step or a remark"
        if step.method == "split" and decided_by(words, docs, conditions) is not None:
            # The words do decide: write the .split again rather than another method. The
            # finding stands either way, so this answer never wins over one without it (a
            # .split forced on words like "when it comes in" is often padded this way).
            return [Fix(_warn("CAD703", line, message, hint), kind="split")]
        out.append(Fix(_warn("CAD703", line, message, hint)))
        return out
    if step.method == "sync" and isinstance(members, tuple) and len(members) < 2 and kind != "sync":
        # Structural, in any language: a parallel group of one note runs nothing in parallel.
        message = f"a .sync of one note runs nothing in parallel ({words!r})"
        out.append(Fix(_warn("CAD703", line, message, "write it as a .then step")))
        return out
    if kind is not None and kind in methods and step.method != kind:
        what, example = _KINDS[kind]
        message = f"the words {words!r} describe {what}, but the step is .{step.method}()"
        out.append(Fix(_warn("CAD703", line, message, f"write {example}"), kind=kind))
        return out  # the options below belong to the method the words ask for
    if kind is None and step.method != "split" and "split" in methods:
        condition = decided_by(words, docs, conditions)
        if condition is not None:
            what = f"a decision on {condition}"
            message = f"the words {words!r} describe {what}, but the step is .{step.method}()"
            hint = f'write .split("name", {condition}, [notes], [other notes])'
            return [Fix(_warn("CAD703", line, message, hint), kind="split")]
    two = second_step(step, words, unused, roles)
    if two is not None:
        entry, cut = two
        if cut is not None:
            message = f"the words {words!r} also describe {entry}, which no step does"
            hint = "give that part of the words a step of its own"
            return [Fix(_warn("CAD703", line, message, hint), cut=cut)]
        method = _ROLE_METHOD.get(roles.get(entry, "note"), "then")  # a note's step: .then
        if method in methods and method != step.method:
            message = f"the words {words!r} describe {entry}, but the step is .{step.method}()"
            hint = f"write it as a .{method} step with {entry}"
            return [Fix(_warn("CAD703", line, message, hint), kind=method)]
    args = step.args

    def option(fix: dict[str, Any], message: str, hint: str) -> None:
        out.append(Fix(_warn("CAD704", line, f"the words {words!r} {message}", hint), force=fix))

    if "interrupt" in found and step.method == "then" and not args.get("can_interrupt"):
        option({"can_interrupt": True}, "say the step may be interrupted", "can_interrupt=True")
    if step.method == "on_error":
        stops = args.get("stop", True) is not False
        if "carry_on" in found and stops:
            option({"stop": False}, "say to carry on after a failure", "add stop=False")
        elif "carry_on" not in found and not stops and _wording.stop_asked(words):
            option({"stop": None}, "say to stop after a failure", "remove stop=False")
    if step.method == "sync" and "strategy" in found and not args.get("merge_strategy"):
        option({"merge_strategy": "*"}, "say how conflicting writes are resolved", "a strategy")
    misplaced = misplaced_branches(step, words, docs) if "else" in found else {}
    if misplaced:
        message = f"the .split's branches do not match the words {words!r}"
        hint = "the if_true notes run when the condition holds, the if_false notes otherwise"
        avoid = {param: frozenset({name}) for param, name in misplaced.items()}
        out.append(Fix(_warn("CAD704", line, message, hint), kind="split", avoid_first=avoid))
    return out


def _steps(
    source: str,
    comp: Composition,
    docs: Mapping[str, str],
    methods: frozenset[str],
    conditions: frozenset[str],
    notes: frozenset[str] = frozenset(),
    entries: Mapping[str, Iterable[str]] | None = None,
) -> Iterable[tuple[int, StepSpec, int, str, list[Fix]]]:
    used = {r.name for s in comp.steps for r in _refs(s)}
    roles = {name: role for role in _ROLE_METHOD for name in (entries or {}).get(role, ())}
    unused = (notes | frozenset(roles)) - used
    pairs = step_comments(source, comp)
    lent = _lent_notes(comp.steps, [words for _, words in pairs], docs)
    handlers = [i for i, step in enumerate(comp.steps) if step.method == "on_error"]
    for i, (step, (line, words)) in enumerate(zip(comp.steps, pairs, strict=True)):
        fixes = _step_fixes(step, line, words, docs, methods, conditions, unused, roles)
        if not fixes and step.method == "on_error" and i != handlers[-1]:
            # Structural: a cadence keeps its last .on_error, so an earlier one is dead code;
            # its words are another step's, or a remark.
            message = f"a later .on_error() replaces this one ({words!r})"
            hint = "keep one .on_error(), the last call; write these words as a step or a remark"
            fixes = [Fix(_warn("CAD703", line, message, hint))]
        if not fixes and i in lent:
            note = lent[i]
            message = f"the note {note} runs in this step ({words!r}) and in another one"
            hint = "give these words their own note, or make them a remark if they are no action"
            fixes = [Fix(_warn("CAD703", line, message, hint), taken=frozenset({note}))]
        yield i, step, line, words, fixes


def _lent_notes(
    steps: Sequence[StepSpec], words: Sequence[str], docs: Mapping[str, str]
) -> dict[int, str]:
    """``{step index: note}`` for ``.then`` steps whose note another step runs as well, while
    their words do not describe it (no word in common with its name or description) and
    another such step's words do, or none's do (then the first is the one): small models lend
    a lead-in the next step's note, or an .on_error an earlier one. Nothing is flagged when
    the words of every step running the note describe it (the task asks for it twice)."""
    runs: dict[str, list[int]] = {}
    for i, step in enumerate(steps):
        for name in {r.name for r in _refs(step)}:
            runs.setdefault(name, []).append(i)
    out: dict[int, str] = {}
    for note, where in runs.items():
        if len(where) < 2:
            continue
        blind = [
            i for i in where if _affinity(_Named(note), _wording.content_words(words[i]), docs) == 0
        ]
        first = next((i for i in blind if steps[i].method == "then"), None)
        if first is not None:
            out.setdefault(first, note)
    return out


def first_fix(
    source: str,
    comp: Composition,
    docs: Mapping[str, str] | None = None,
    methods: Iterable[str] = (),
    conditions: Iterable[str] = (),
    notes: Iterable[str] = (),
    entries: Mapping[str, Iterable[str]] | None = None,
) -> tuple[int, Fix] | None:
    """The first step its own words contradict, and how to write it again: ``(index, fix)``.

    ``methods``: the methods the registry can fill (a step is never asked to become one it
    cannot); ``conditions`` and ``notes``: the registry's (for :func:`decided_by` and
    :func:`second_step`); ``entries``: the registry's names by role (its handlers and child
    cadences, for :func:`second_step`).
    """
    allowed = frozenset(methods)
    steps = _steps(
        source, comp, docs or {}, allowed, frozenset(conditions), frozenset(notes), entries
    )
    for i, _, _, _, fixes in steps:
        if fixes:
            return i, fixes[0]
    return None


_WHOLE_TASK: dict[str, tuple[str, str, str]] = {
    "sync": (
        "CAD703",
        "the task says some steps run at the same time, but no step is a .sync",
        'put those notes in one .sync("name", [note_a, note_b])',
    ),
    "child": (
        "CAD703",
        "the task runs a child cadence, but no step is a .child",
        '.child("name", child_cadence, merge)',
    ),
    "on_error": (
        "CAD702",
        "the task says what to do when a step fails, but there is no .on_error",
        "add .on_error(handler) as the last call",
    ),
}


def check_grounding(
    source: str,
    comp: Composition,
    task: str,
    *,
    docs: Mapping[str, str] | None = None,
    methods: Iterable[str] = (),
    conditions: Iterable[str] = (),
    notes: Iterable[str] = (),
    entries: Mapping[str, Iterable[str]] | None = None,
    anchored: bool = False,
    limit: int = 4,
) -> list[Diagnostic]:
    """Warnings where the accepted composition ``comp`` (from ``source``) departs from ``task``.

    Per step: its words against its method and options (cues only). For the whole task: a
    structure whose cue the task has and no step uses. ``anchored``: the steps' words were
    copied from the task by the grammar, so they cannot be foreign to it (no ``CAD701``).
    ``entries``: the registry's names by role (see :func:`first_fix`). At most ``limit``
    findings, in line order: a small model fixes a few pointed findings better than a long
    list.
    """
    allowed = frozenset(methods) or frozenset(m["name"] for m in spec()["methods"])
    docs = docs or {}
    out: list[Diagnostic] = []
    task_words = _wording.content_words(task)
    last = max((s.line for s in comp.steps), default=1)
    steps = _steps(source, comp, docs, allowed, frozenset(conditions), frozenset(notes), entries)
    for _, _step, line, words, fixes in steps:
        content = _wording.content_words(words)
        if not anchored and content and len(content & task_words) * 2 < len(content):
            message = f"the task does not ask for this step: {words!r} is not part of the task"
            out.append(_warn("CAD701", line, message, "remove this step"))
            continue
        out += [fix.finding for fix in fixes]
    used = {s.method for s in comp.steps}
    flagged = {d.message for d in out}
    wanted = _wording.features(task)
    for feature, (code, message, hint) in _WHOLE_TASK.items():
        asked = feature in wanted and feature in allowed and feature not in used
        what = _KINDS[feature][0] if feature in _KINDS else "\0"
        if asked and not any(what in m for m in flagged):
            out.append(_warn(code, last, message, hint))
    out.sort(key=lambda d: d.line)
    return out[:limit]
