"""Models that write cadence: prompt pack -> model -> validate -> repair -> safe build.

:func:`generate_cadence` asks a model for a *composition* (one cadence expression over the names
of a registry), checks it with :mod:`cadence.validate` in composition mode, sends the
diagnostics back for a bounded number of repair rounds, and finally interprets the accepted
text into a runnable ``Cadence`` with :func:`cadence.validate.build`. The model's text is never
passed to ``exec``, ``eval`` or ``compile``: whatever it writes, the worst outcome is a
rejection.

Ways to ask (``mode``):

- ``"plan"`` (default): a JSON plan, one object per step (the task's words it covers, its kind,
  the registry names in its slots; :mod:`cadence_llm._plan`), decoded under a GBNF grammar
  narrowed to the registry on llama.cpp or under the provider's structured output (JSON
  schema), and rendered by the library to composition text.
- ``"text"``: free text; the composition is taken from the answer's code block.
- ``"grammar"``: composition text constrained by a GBNF grammar narrowed to the registry's
  names (models that honour a ``grammar`` request field: :class:`~cadence_llm.models.local
  .LocalModel`, and llama.cpp servers through ``OpenAICompatModel``).
- ``"json"``: a plan under the provider's structured output (``"plan"`` with
  ``constrain="schema"``).

:func:`generate_scaffold` writes a whole module (score, notes, cadence) for a person to review;
it is checked in module mode and never imported or run by us.
"""

from __future__ import annotations

import functools
import io
import json
import keyword
import re
import time
import tokenize
import unicodedata
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

from cadence import Cadence
from cadence.exceptions import CadenceError, ValidationError
from cadence.validate import (
    CODES,
    Diagnostic,
    Limits,
    build,
    check_cadence,
    check_source,
    parse_composition,
)
from cadence_llm import _anchor, _derive, _grounding, _plan, _prompts
from cadence_llm._anchor import Resume
from cadence_llm._extract import extract_code, extract_json, extract_module
from cadence_llm._registry import describe_registry, describe_score, docs_of, roles_of
from cadence_llm.errors import ModelError
from cadence_llm.messages import (
    AssistantMessage,
    Message,
    ModelRequest,
    ModelResponse,
    ResponseFormat,
    SystemMessage,
    Usage,
    UserMessage,
)
from cadence_llm.models.base import Model

__all__ = [
    "GROUNDING_CODES",
    "Answer",
    "Attempt",
    "CodegenError",
    "Constrain",
    "Generation",
    "Mode",
    "check_answer",
    "generate_cadence",
    "generate_scaffold",
    "grammar_for",
    "plan_grammar_for",
    "plan_schema_for",
    "source_to_plan",
    "unique_step_names",
]

Mode = Literal["plan", "text", "grammar", "json"]
Constrain = Literal["auto", "grammar", "schema", "none"]
#: The task-grounding warnings (the CAD7xx warnings of the shared code table; ``CAD705``, a
#: renamed step, is a note).
GROUNDING_CODES = frozenset(
    code
    for code, (_, severity) in CODES.items()
    if code.startswith("CAD7") and severity == "warning"
)
_STOP = {"text": ("\n```\n",)}
MODES: tuple[str, ...] = ("plan", "text", "grammar", "json")
CONSTRAINTS: tuple[str, ...] = ("auto", "grammar", "schema", "none")
_PLAN_MODES = ("plan", "json")


class CodegenError(CadenceError):
    """The model did not produce an acceptable cadence within the allowed repair rounds.

    ``generation`` holds every attempt with its diagnostics; ``diagnostics`` the last ones.
    """

    default_code = "CODEGEN_FAILED"

    def __init__(self, message: str, generation: Generation) -> None:
        super().__init__(
            message, None, {"diagnostics": [d.format() for d in generation.diagnostics]}
        )
        self.generation = generation
        self.diagnostics = generation.diagnostics


@dataclass(frozen=True, slots=True)
class Answer:
    """One model answer: round 0 is the first, later rounds are repairs.

    (Called ``Attempt`` before, which stays as an alias; ``cadence_llm.Attempt`` is one try of
    one model inside a fallback chain.)
    """

    round: int
    raw: str
    source: str
    diagnostics: tuple[Diagnostic, ...]
    usage: Usage
    seconds: float

    @property
    def ok(self) -> bool:
        """Whether this answer validated (no error diagnostics)."""
        return not any(d.is_error for d in self.diagnostics)

    @property
    def findings(self) -> tuple[Diagnostic, ...]:
        """Task-grounding warnings: where this valid answer departs from its task."""
        return tuple(d for d in self.diagnostics if d.code in GROUNDING_CODES)


Attempt = Answer
"""The former name of :class:`Answer`."""


@dataclass(frozen=True, slots=True)
class Generation:
    """The outcome of :func:`generate_cadence` (or :func:`generate_scaffold`)."""

    mode: str
    attempts: tuple[Answer, ...]
    cadence: Cadence[Any] | None = None
    chosen: int = -1

    @property
    def answer(self) -> Answer | None:
        """The answer the result stands for: the accepted one with the fewest task-grounding
        findings (the earliest on a tie), else the last one."""
        return self.attempts[self.chosen] if self.attempts else None

    @property
    def ok(self) -> bool:
        """Whether the chosen answer validated (and, for compositions, was built)."""
        return self.answer is not None and self.answer.ok

    @property
    def source(self) -> str:
        """The chosen answer's code (the accepted one when ``ok``)."""
        return self.answer.source if self.answer else ""

    @property
    def diagnostics(self) -> tuple[Diagnostic, ...]:
        """The chosen answer's diagnostics: errors when not ``ok``; else any task-grounding
        warnings (``CAD701``-``CAD704``) that remained."""
        return self.answer.diagnostics if self.answer else ()

    @property
    def repairs(self) -> int:
        """Repair rounds used (0 when the first answer was accepted)."""
        return max(len(self.attempts) - 1, 0)

    @property
    def usage(self) -> Usage:
        """Tokens over all attempts."""
        total = Usage()
        for a in self.attempts:
            total = total + a.usage
        return total

    @property
    def seconds(self) -> float:
        """Model time over all attempts."""
        return sum(a.seconds for a in self.attempts)


# -- derived forms for one registry -------------------------------------------------------------


def grammar_for(
    registry: Mapping[str, Any],
    *,
    roles: Mapping[str, str] | None = None,
    task: str | None = None,
    resume: Resume | None = None,
) -> str:
    """The GBNF grammar for compositions narrowed to ``registry``: its names, each in its
    role's slots.

    With ``task``, the comment above each call is a run of the task's words, in order (see
    :mod:`cadence_llm._anchor`). ``resume`` writes one step of such an answer again.
    """
    return _derive.gbnf(names=roles_of(registry, roles), task=task, resume=resume)


def plan_grammar_for(
    registry: Mapping[str, Any],
    *,
    roles: Mapping[str, str] | None = None,
    task: str | None = None,
    resume: Resume | None = None,
) -> str:
    """The GBNF grammar for JSON plans narrowed to ``registry`` (the default mode's grammar
    on llama.cpp). With ``task``, each step's ``covers`` is a run of the task's words."""
    return _derive.plan_gbnf(names=roles_of(registry, roles), task=task, resume=resume)


def plan_schema_for(
    registry: Mapping[str, Any], *, roles: Mapping[str, str] | None = None
) -> dict[str, Any]:
    """The JSON schema of a plan narrowed to ``registry`` (names as enums per role), for
    providers' structured output."""
    return _plan.plan_schema(names=roles_of(registry, roles))


def source_to_plan(source: str) -> dict[str, Any]:
    """The plan of an accepted composition (the inverse of rendering a plan).

    Raises:
        ValidationError: ``source`` is not an accepted composition.
    """
    comp, diags = parse_composition(source, None)
    if comp is None:
        raise ValidationError("not an accepted composition", diags)
    return _plan.source_to_plan(source)


# -- checking one answer ------------------------------------------------------------------------


def _problem(message: str, hint: str) -> Diagnostic:
    return Diagnostic("CAD001", "error", 1, 0, message, hint)


def _cut_off(
    response: ModelResponse, max_tokens: int, diags: Sequence[Diagnostic]
) -> list[Diagnostic]:
    """``diags``, led by a plain explanation when an invalid answer was cut off by a limit.

    A model that runs into ``max_tokens`` or its context window stops mid-answer; the syntax
    error that follows would otherwise hide the cause.
    """
    if response.finish_reason != "length" or not any(d.is_error for d in diags):
        return list(diags)
    used = response.usage.input_tokens
    cause = _problem(
        f"the answer was cut off: generation stopped at a length limit after "
        f"{response.usage.output_tokens} tokens (max_tokens={max_tokens}; the prompt took {used})",
        "raise max_tokens, or the model's context window (LocalModel(n_ctx=...)) if the prompt "
        "and the answer do not fit in it together",
    )
    return [cause, *diags]


_PLAIN_STRING = re.compile(r"^(['\"])([A-Za-z0-9_ .:-]*)\1$")
_NAMED = frozenset(
    m["name"] for m in _prompts.spec()["methods"] if m["params"][0]["shape"] == "name"
)


def unique_step_names(source: str) -> tuple[str, list[Diagnostic]]:
    """``source`` with every repeated step name made unique, and a ``CAD705`` note per rename.

    Step names are labels (events, checkpoints and diagrams show them); a model that writes
    one twice has not written a wrong cadence, so the library renames the later ones
    (``load``, ``load_2``) instead of failing the answer. Text that does not tokenize is
    returned unchanged, for the validator to report.
    """
    try:
        tokens = list(tokenize.generate_tokens(io.StringIO(source).readline))
    except (tokenize.TokenError, SyntaxError):
        return source, []
    seen: set[str] = set()
    edits: list[tuple[tokenize.TokenInfo, str]] = []
    for i in range(2, len(tokens) - 1):
        name, dot, paren, literal = tokens[i - 1], tokens[i - 2], tokens[i], tokens[i + 1]
        if not (dot.string == "." and name.string in _NAMED and paren.string == "("):
            continue
        plain = _PLAIN_STRING.match(literal.string) if literal.type == tokenize.STRING else None
        if plain is None:
            continue  # not a plain name literal: the validator judges it
        value = plain.group(2)
        if value in seen:
            n, limit = 2, Limits().max_name_chars
            # value_2, value_3...: cut so that the new name stays within the validator's limit
            while (fresh := value[: limit - len(f"_{n}")] + f"_{n}") in seen:
                n += 1
            edits.append((literal, fresh))
            value = fresh
        seen.add(value)
    lines = source.split("\n")
    notes = []
    for literal, fresh in reversed(edits):
        row, col = literal.start
        end_row, end_col = literal.end
        if row != end_row:
            continue
        text = lines[row - 1]
        lines[row - 1] = text[:col] + json.dumps(fresh) + text[end_col:]
        old = literal.string[1:-1]
        notes.append(
            Diagnostic(
                "CAD705",
                "info",
                row,
                col + 1,
                f"the step name {old!r} was used before; this step is named {fresh!r}",
                "",
            )
        )
    return "\n".join(lines), notes[::-1]


def check_answer(
    text: str, registry: Mapping[str, Any], *, mode: str = "plan", score: Any = None
) -> tuple[str, list[Diagnostic], Cadence[Any] | None]:
    """Extract, validate and (when clean) build one model answer (on ``score``, if given).

    A plan (``mode="plan"`` or ``"json"``) is rendered to composition text first; repeated
    step names are made unique (:func:`unique_step_names`).

    Returns:
        ``(source, diagnostics, cadence)``; ``cadence`` is None unless the answer was
        accepted (without a ``score`` its default score is None: pass one to ``run``).
    """
    if mode in _PLAN_MODES:
        try:
            source = _plan.plan_to_source(extract_json(text))
        except ValueError as exc:
            hint = 'answer with {"name": ..., "steps": [{"covers": ..., "kind": ...}, ...]}'
            return text.strip(), [_problem(str(exc), hint)], None
    else:
        source = extract_code(text)
    source, notes = unique_step_names(source)
    diags = [*notes, *check_source(source, registry=registry, mode="composition")]
    if not any(d.is_error for d in diags):
        comp, _ = parse_composition(source, registry)
        if comp is not None and all(s.method == "on_error" for s in comp.steps):
            diags.append(_no_step(mode))
    if any(d.is_error for d in diags):
        return source, diags, None
    try:
        # Built even without a score (then not returned): the built cadence is what tells
        # whether each registry entry can take the arguments its slot is called with.
        cadence = build(source, registry, score=score)
    except ValidationError as exc:
        return source, [*diags, *exc.diagnostics], None
    except (CadenceError, TypeError, ValueError) as exc:
        # The builder's own definition checks (e.g. a registry value it cannot use).
        return source, [*diags, _problem(f"the cadence could not be built: {exc}", "")], None
    # A registry entry in a slot whose call it cannot take (a merge as a note, a note as the
    # .on_error handler) validates and builds, and would fail only when the step runs.
    misfits = [
        Diagnostic(
            "CAD603",
            "error",
            1,
            0,
            d.message,
            "use a registry entry whose role fits this slot (a note takes the score; a "
            "merge (parent, child_score); a handler (score, error))",
        )
        for d in check_cadence(cadence)
        if d.code == "CAD603"
    ]
    if misfits:
        return source, [*diags, *misfits], None
    # Returned even without a score (its default score is then None; run it with one):
    # an accepted answer always comes with its cadence.
    return source, diags, cadence


def _no_step(mode: str) -> Diagnostic:
    """``CAD706``: a valid answer that runs nothing (every task asks for something)."""
    if mode in _PLAN_MODES:
        message = "the plan runs no step: its steps are all remarks or .on_error handlers"
        hint = 'give the words that ask for an action a step ("kind": "then", ...)'
    else:
        message = "the composition runs no step"
        hint = "write a .then(), .sync(), .split() or .child() step for what the task asks"
    return Diagnostic("CAD706", "error", 1, 0, message, hint)


def _step_for_remark(
    raw: str, task: str, tried: dict[str, set[str]], methods: Sequence[str]
) -> Resume | None:
    """Write a step of an anchored plan that runs no step (``CAD706``) again as one that does.

    Such a plan's steps are remarks and ``.on_error`` handlers; the one with the most words
    goes first (a lead-in is short, the request it introduces is not), written with any method
    that runs something; each is tried once. None when no such method is available, or when
    the plan's steps do not copy the task's words.
    """
    idle = frozenset({_plan.REMARK, "on_error"})
    if not set(methods) - idle:
        return None
    try:
        steps = extract_json(raw).get("steps")
    except (ValueError, AttributeError):
        return None
    if not isinstance(steps, list) or not all(isinstance(s, Mapping) for s in steps):
        return None
    spans = _anchor.covered_spans(task, [str(s.get("covers", "")) for s in steps])
    if spans is None:
        return None
    marker = _anchor.PLAN.close
    ends = [m.start() for m in re.finditer(re.escape(marker), raw)]
    if len(ends) < len(steps):
        return None
    order = sorted(range(len(steps)), key=lambda i: (spans[i][0] - spans[i][1], i))
    for i in order:
        prefix = raw[: ends[i] + len(marker)]
        done = tried.setdefault(prefix, set())
        if "step" in done:
            continue
        done.add("step")
        return Resume(prefix, spans[i][1] + 1, exclude=idle)
    return None


def _plan_index(raw: str, index: int) -> int | None:
    """Where step ``index`` of a plan's composition is among the plan's steps (its remarks
    are steps of the plan and no step of the composition), or None."""
    try:
        steps = extract_json(raw).get("steps")
    except (ValueError, AttributeError):
        return None
    calls = [
        i
        for i, step in enumerate(steps if isinstance(steps, list) else [])
        if not isinstance(step, Mapping) or step.get("kind") != _plan.REMARK
    ]
    return calls[index] if index < len(calls) else None


def _prefix(raw: str, source: str, index: int, mode: str) -> str | None:
    """An anchored answer up to where step ``index`` writes its method name, or None."""
    if mode in _PLAN_MODES:
        found = _plan_index(raw, index)
        if found is None:
            return None
        marker = _anchor.PLAN.close
        at = -1
        for _ in range(found + 1):
            at = raw.find(marker, at + 1)
            if at < 0:
                return None
        return raw[: at + len(marker)]
    comp, _ = parse_composition(source, None)
    if comp is None:
        return None
    line = _plan.step_comments(source, comp)[index][0]
    lines = source.split("\n")
    if not lines[line - 1].startswith("    ."):
        return None
    return "\n".join(lines[: line - 1]) + _anchor.COMPOSITION.close


def _words_prefix(
    raw: str, source: str, index: int, mode: str, task: str, first: int, last: int
) -> str | None:
    """An anchored answer up to step ``index``'s words, which end at task word ``last`` (and
    the literal that closes them), or None."""
    words = _anchor.task_words(task)[first : last + 1]
    if mode in _PLAN_MODES:
        found = _plan_index(raw, index)
        if found is None:
            return None
        marker = '{"covers": "'
        at = -1
        for _ in range(found + 1):
            at = raw.find(marker, at + 1)
            if at < 0:
                return None
        said = " ".join(json.dumps(w)[1:-1] for w in words)
        return raw[: at + len(marker)] + said + _anchor.PLAN.close
    comp, _ = parse_composition(source, None)
    if comp is None:
        return None
    call = _plan.step_comments(source, comp)[index][0]
    lines = source.split("\n")
    if call < 3 or not lines[call - 2].startswith("    # "):
        return None
    head = "\n".join(lines[: call - 2])
    return head + _anchor.COMPOSITION.open + " ".join(words) + _anchor.COMPOSITION.close


def _redecode(
    raw: str,
    source: str,
    registry: Mapping[str, Any],
    roles: Mapping[str, str] | None,
    task: str,
    docs: Mapping[str, str],
    tried: dict[str, set[str]],
    mode: str,
) -> Resume | None:
    """Where and how to write a step of an anchored answer again: the first step its own words
    contradict (:func:`cadence_llm._grounding.first_fix`).

    None when the answer is not anchored, nothing contradicts it, or every way to write that
    step was tried already (``tried`` remembers them per answer prefix).
    """
    comp, _ = parse_composition(source, registry)
    if comp is None:
        return None
    methods = [m["name"] for m in _plan.available(_prompts.spec(), roles_of(registry, roles))]
    named = roles_of(registry, roles)
    found = _grounding.first_fix(
        source, comp, docs, methods, named.get("condition", ()), named.get("note", ()), named
    )
    if found is None:
        return None
    index, fix = found
    steps = _plan.step_comments(source, comp)
    spans = _anchor.covered_spans(task, [words for _, words in steps])
    if spans is None:
        return None
    if fix.cut is not None:
        # Two steps' words given to one: end its words earlier and write the rest anew.
        start = spans[index][0]
        shorter = _words_prefix(raw, source, index, mode, task, start, start + fix.cut)
        if shorter is None or "cut" in tried.setdefault(shorter, set()):
            return None
        tried[shorter].add("cut")
        return Resume(shorter, start + fix.cut + 1)
    prefix = _prefix(raw, source, index, mode)
    if prefix is None:
        return None
    step = comp.steps[index]
    done = tried.setdefault(prefix, set())
    next_word = spans[index][1] + 1
    if fix.avoid_first:
        new = {f"{param}:{name}" for param, names in fix.avoid_first.items() for name in names}
        if new <= done:
            return None
        done |= new
        avoid = {
            param: frozenset(x.split(":", 1)[1] for x in done if x.startswith(param + ":"))
            for param in fix.avoid_first
        }
        return Resume(prefix, next_word, only="split", force={"if_false": "*"}, avoid_first=avoid)
    if fix.taken:
        key = "taken:" + ",".join(sorted(fix.taken))
        if key in done:
            return None
        done.add(key)
        if not [n for n in named.get("note", ()) if n not in fix.taken]:
            return None
        params = {
            p["name"]: fix.taken
            for m in _plan.available(_prompts.spec(), named)
            for p in _plan.slots(m)
            if p["shape"] in ("note", "notes")
        }
        return Resume(prefix, next_word, avoid_first=params)
    if fix.force:
        key = "force:" + ",".join(sorted(fix.force))
        if key in done:
            return None  # this option was forced here once already
        done.add(key)
        return Resume(prefix, next_word, only=step.method, force=fix.force)
    if fix.kind is not None:
        key = f"kind:{fix.kind}"
        if key in done:
            return None
        done.add(key)
        return Resume(prefix, next_word, only=fix.kind)
    # A structural finding (a .sync of one note): any method but those tried here.
    done.add(step.method)
    left = set(methods) - done
    if not left:
        return None
    return Resume(prefix, next_word, exclude=frozenset(set(methods) - left))


def format_diagnostics(diags: Sequence[Diagnostic]) -> str:
    """Diagnostics as the repair message lists them: line, problem, fix (errors, and task
    grounding findings when there are no errors)."""
    lines = []
    errors = any(d.is_error for d in diags)
    for d in diags:
        shown = d.is_error if errors else d.code in GROUNDING_CODES
        if not shown:
            continue
        fix = f" Fix: {d.hint}" if d.hint else ""
        lines.append(f"- line {d.line}: {d.message}.{fix}")
    return "\n".join(lines) or "- the answer was not accepted"


# -- prompts ------------------------------------------------------------------------------------


def _answer_text(example: Mapping[str, Any], mode: str) -> str:
    if mode in _PLAN_MODES:
        return _plan.format_plan(_example_plan(example["task"], example["answer"]))
    if mode == "grammar":
        return str(example["answer"])
    return f"```python\n{example['answer']}\n```"


@functools.cache
def _example_plan(task: str, answer: str) -> dict[str, Any]:
    return _plan.example_plan(task, answer)


def _system(mode: str) -> str:
    if mode in _PLAN_MODES:
        return _prompts.read("plan.md").replace("{kinds}", _prompts.plan_text())
    return _prompts.read("system.md") + "\n" + _prompts.read("grammar.md")


def _task_message(task: str, score: str, registry_text: str) -> str:
    return _prompts.read("task.md").format(task=task, score=score, registry=registry_text).strip()


def build_messages(
    task: str,
    registry: Mapping[str, Any],
    score_type: Any = None,
    *,
    mode: str = "plan",
    roles: Mapping[str, str] | None = None,
    docs: Mapping[str, str] | None = None,
    examples: bool | int = True,
) -> list[Message]:
    """The conversation for a first answer: system prompt, worked examples, then the task.

    ``examples``: True shows the three worked examples closest to the task's structure
    (:func:`cadence_llm._prompts.select_examples`), an int that many, False none.
    """
    messages: list[Message] = [SystemMessage(content=_system(mode))]
    count = 3 if examples is True else int(examples)
    if count:
        for ex in _prompts.select_examples(task, count):
            reg = {name: None for name in ex["registry"]}
            ex_roles = {name: v[0] for name, v in ex["registry"].items()}
            ex_docs = {name: v[1] for name, v in ex["registry"].items()}
            text = describe_registry(reg, roles=ex_roles, docs=ex_docs)
            messages.append(UserMessage(content=_task_message(ex["task"], ex["score"], text)))
            messages.append(AssistantMessage(content=_answer_text(ex, mode)))
    registry_text = describe_registry(registry, roles=roles, docs=docs)
    messages.append(
        UserMessage(content=_task_message(task, describe_score(score_type), registry_text))
    )
    return messages


def _constraint(mode: str, constrain: str, model: Model) -> str:
    """How the answer is constrained: ``"grammar"``, ``"schema"`` or ``"none"``."""
    if mode == "json":
        return "schema"
    if mode != "plan":
        return "grammar" if mode == "grammar" else "none"
    if constrain != "auto":
        return constrain
    # llama.cpp in process takes a GBNF grammar; providers take a JSON schema.
    return "grammar" if getattr(model, "system", None) == "local" else "schema"


def _request_options(
    mode: str,
    constraint: str,
    registry: Mapping[str, Any],
    roles: Mapping[str, str] | None,
    task: str | None,
    resume: Resume | None = None,
) -> dict[str, Any]:
    if constraint == "grammar":
        make = plan_grammar_for if mode in _PLAN_MODES else grammar_for
        return {"extra": {"grammar": make(registry, roles=roles, task=task, resume=resume)}}
    if constraint == "schema":
        schema = plan_schema_for(registry, roles=roles)
        return {"response_format": ResponseFormat(type="json_schema", schema=schema, name="plan")}
    return {}


def _check_task(task: Any) -> None:
    """Refuse a task that is not words (before any model is asked).

    Raises:
        TypeError: ``task`` is not a string.
        ValueError: ``task`` is empty or only whitespace.
    """
    if not isinstance(task, str):
        raise TypeError(
            f"task must be a string saying what the cadence should do, got {type(task).__name__}"
        )
    if not task.strip():
        raise ValueError("task is empty: say in words what the cadence should do")


def _check_registry(registry: Any, roles: Mapping[str, str] | None = None) -> None:
    """Refuse a registry no answer could use (before any model is asked).

    Every name is shown to the model; one that no composition can write, or a value that is
    neither a callable nor a ``Cadence``, would fail every answer that uses it, after the
    model was paid for.

    Raises:
        ValueError: ``registry`` is empty or not a mapping, a name cannot be written, or
            ``roles`` names an entry the registry does not have.
        TypeError: A value is neither callable nor a ``Cadence``.
    """
    if not isinstance(registry, Mapping) or not registry:
        raise ValueError("generate_cadence() needs a non-empty registry mapping names to functions")
    unusable = [
        name
        for name in registry
        if not isinstance(name, str)
        or not name.isidentifier()
        or keyword.iskeyword(name)
        or name.startswith("__")
        # Python reads identifiers in NFKC form ("\ufb01le" is "file"): the name in the
        # answer would not be the registry's.
        or unicodedata.normalize("NFKC", name) != name
    ]
    if unusable:
        # Shown to the model, but no composition can name them: every answer would fail.
        plain = unicodedata.normalize("NFKC", str(unusable[0]))
        raise ValueError(
            f"registry names must be Python identifiers (not keywords, dunders or names Python "
            f"reads as another, such as '\ufb01le' as 'file'), got "
            f"{', '.join(map(repr, unusable))}; e.g. "
            + repr(re.sub(r"\W|^(?=\d)", "_", plain).strip("_") or "note")
        )
    inert = [name for name, value in registry.items() if not _usable_value(value)]
    if inert:
        value = registry[inert[0]]
        raise TypeError(
            f"registry values must be functions (notes, conditions, merges, handlers) or "
            f"Cadence objects; {inert[0]!r} is {type(value).__name__} {value!r:.60}"
        )
    unknown = sorted(set(roles or ()) - set(registry))
    if unknown:
        raise ValueError(
            f"roles= names {', '.join(map(repr, unknown))}, which the registry does not have "
            f"(it has {', '.join(sorted(registry))})"
        )


def _usable_value(value: Any) -> bool:
    return isinstance(value, Cadence) or callable(value)


def _default_score(score_type: Any, score: Any) -> Any:
    if score is not None:
        return score
    if isinstance(score_type, type):
        try:
            return score_type()
        except TypeError:
            return None
    return score_type if score_type is not None and not isinstance(score_type, str) else None


async def generate_cadence(
    model: Model,
    task: str,
    registry: Mapping[str, Any],
    score_type: Any = None,
    *,
    score: Any = None,
    mode: Mode = "plan",
    constrain: Constrain = "auto",
    max_repairs: int = 2,
    roles: Mapping[str, str] | None = None,
    docs: Mapping[str, str] | None = None,
    examples: bool | int = True,
    temperature: float = 0.0,
    max_tokens: int = 600,
    raise_on_failure: bool = True,
    messages: Sequence[Message] | None = None,
    stop: Sequence[str] | None = None,
    ground: bool = True,
    anchor: bool = True,
    max_redecodes: int = 4,
) -> Generation:
    """Ask ``model`` for a cadence doing ``task`` with ``registry``'s notes; validate; repair.

    Args:
        model: Any :class:`~cadence_llm.models.base.Model`.
        task: What the cadence should do, in plain words (any language).
        registry: The names the cadence may use -> note functions, conditions, merge functions,
            error handlers and child ``Cadence`` objects. Docstrings are shown to the model.
        score_type: The score class (its fields are shown to the model); an instance works too.
        score: The score the built cadence runs on by default (else ``score_type()``).
        mode: ``"plan"`` (a JSON plan, one object per step, rendered to a composition),
            ``"text"`` (a composition in free text), ``"grammar"`` (a composition under a
            GBNF grammar), or ``"json"`` (a plan under a JSON schema: ``constrain="schema"``).
        constrain: How a plan is constrained: ``"grammar"`` (GBNF narrowed to the registry,
            each step's words anchored to the task; llama.cpp), ``"schema"`` (the provider's
            structured output with the narrowed JSON schema), ``"none"``, or ``"auto"``:
            ``"grammar"`` for :class:`~cadence_llm.models.local.LocalModel`, else ``"schema"``.
        max_repairs: Chat repair rounds after the first answer (0: no repair).
        roles: Explicit roles (``"note"``, ``"condition"``, ``"merge"``, ``"handler"``,
            ``"cadence"``, ``"factory"``) for registry names whose signature does not tell.
        docs: One-line descriptions overriding the docstrings.
        examples: Worked examples shown as earlier turns: True for the three closest to the
            task's structure, an int for that many, False for none.
        temperature: Sampling temperature for every call.
        max_tokens: Token cap for each answer.
        raise_on_failure: Raise :class:`CodegenError` when no answer is accepted (else return
            the failed :class:`Generation`). A :class:`~cadence_llm.errors.ModelError` (the
            model could not answer) propagates, unless an answer was accepted already: then
            the rounds stop and the generation is returned with that answer.
        messages: A conversation to use instead of the pack's prompt (evals use this for a
            baseline); the repair rounds still follow.
        stop: Stop sequences; by default free text stops after the closing code fence, so a
            model does not spend tokens explaining its answer.
        ground: Check a valid answer against the cues in its task's words (``CAD701``-
            ``CAD704``, see :mod:`cadence_llm._grounding`) and spend the remaining rounds on
            those findings too. The result is the valid answer with the fewest findings; a
            valid answer is never traded for an invalid repair.
        anchor: With a grammar, make the words before each step a run of the task's words, in
            order, ending with the task: the model still chooses where each step starts and
            ends and what it is, but cannot invent steps or run on. Tasks over
            ``ANCHOR_MAX_WORDS`` words get free words.
        max_redecodes: With an anchored grammar, how many times a step its own words
            contradict may be written again (cheap: the prompt is cached and only the rest of
            the answer is decoded), on top of ``max_repairs`` chat rounds.

    Returns:
        A :class:`Generation`; ``.cadence`` is the built cadence when the answer was accepted.

    Raises:
        ValueError: A bad option, an empty task, or a registry no answer could use (empty,
            a name no composition can write, ``roles`` for a name it lacks); raised before
            the model is asked.
        TypeError: ``task`` is not a string, or a registry value is not callable.
        CodegenError: No answer was accepted (with ``raise_on_failure=True``).
    """
    if mode not in MODES:
        raise ValueError(f"mode must be one of {', '.join(MODES)}; got {mode!r}")
    if constrain not in CONSTRAINTS:
        raise ValueError(f"constrain must be one of {', '.join(CONSTRAINTS)}; got {constrain!r}")
    if max_repairs < 0:
        raise ValueError(f"max_repairs must be >= 0, got {max_repairs}")
    if max_redecodes < 0:
        raise ValueError(f"max_redecodes must be >= 0, got {max_redecodes}")
    if max_tokens < 1:
        raise ValueError(f"max_tokens must be >= 1, got {max_tokens}")
    if examples is not True and examples is not False and int(examples) < 0:
        raise ValueError(f"examples must be True, False or a count >= 0, got {examples!r}")
    _check_task(task)
    _check_registry(registry, roles)
    build_score = _default_score(score_type, score)
    convo = (
        list(messages)
        if messages is not None
        else build_messages(
            task, registry, score_type, mode=mode, roles=roles, docs=docs, examples=examples
        )
    )
    constraint = _constraint(mode, constrain, model)
    anchored = constraint == "grammar" and anchor and _anchor.anchors(task)
    base_options = _request_options(mode, constraint, registry, roles, task if anchored else None)
    base_options["stop"] = tuple(stop if stop is not None else _STOP.get(mode, ()))
    options = base_options
    tried: dict[str, set[str]] = {}
    descriptions = docs_of(registry, docs)
    methods = [m["name"] for m in _plan.available(_prompts.spec(), roles_of(registry, roles))]
    named = roles_of(registry, roles)
    conditions, notes = named.get("condition", ()), named.get("note", ())
    attempts: list[Answer] = []
    best: tuple[Answer, int, Cadence[Any] | None] | None = None
    cadence: Cadence[Any] | None
    turn: list[Message] = []
    repairs_left, redecodes_left = max_repairs, max_redecodes if anchored else 0
    round_ = 0
    while True:
        request = ModelRequest(
            messages=(*convo, *turn), temperature=temperature, max_tokens=max_tokens, **options
        )
        started = time.perf_counter()
        try:
            response = await model.complete(request)
        except ModelError:
            if best is None:
                raise
            # A valid answer is in hand: a repair round the model could not answer (rate
            # limit, timeout, outage) does not throw it away.
            break
        elapsed = time.perf_counter() - started
        source, diags, built = check_answer(response.text, registry, mode=mode, score=build_score)
        diags = _cut_off(response, max_tokens, diags)
        if ground and not any(d.is_error for d in diags):
            comp, _ = parse_composition(source, registry)
            if comp is not None:
                diags += _grounding.check_grounding(
                    source,
                    comp,
                    task,
                    docs=descriptions,
                    methods=methods,
                    conditions=conditions,
                    notes=notes,
                    entries=named,
                    anchored=anchored,
                )
        attempt = Answer(round_, response.text, source, tuple(diags), response.usage, elapsed)
        attempts.append(attempt)
        round_ += 1
        if attempt.ok and (best is None or len(attempt.findings) < len(best[0].findings)):
            best = (attempt, len(attempts) - 1, built)
        if attempt.ok and not attempt.findings:
            break
        resume = None
        if redecodes_left > 0 and attempt.ok:
            resume = _redecode(
                response.text, source, registry, roles, task, descriptions, tried, mode
            )
        elif redecodes_left > 0 and mode in _PLAN_MODES and any(d.code == "CAD706" for d in diags):
            resume = _step_for_remark(response.text, task, tried, methods)
        if resume is not None:
            # An anchored answer with a step its words contradict: keep the answer up to that
            # step and let the model write the step again, without what was tried there
            # (same conversation, so the prompt is served from the model's cache).
            redecodes_left -= 1
            options = {
                **base_options,
                **_request_options(mode, constraint, registry, roles, task, resume),
            }
            turn = []
            continue
        if repairs_left == 0:
            break
        repairs_left -= 1
        options = base_options
        # Only the latest answer is kept: the context stays bounded over the rounds.
        if attempt.ok:
            text = _prompts.read("reground.md").format(
                diagnostics=format_diagnostics(attempt.findings), task=task
            )
        else:
            text = _prompts.read("repair.md").format(diagnostics=format_diagnostics(diags))
        if mode in _PLAN_MODES:
            text = text.replace("composition", "plan").replace("```python block", "JSON object")
        turn = [AssistantMessage(content=response.text), UserMessage(content=text.strip())]
    if best is not None:
        _, chosen, cadence = best
    else:
        chosen, cadence = len(attempts) - 1, None
    result = Generation(mode, tuple(attempts), cadence, chosen)
    if not result.ok and raise_on_failure:
        raise CodegenError(
            f"no acceptable cadence after {len(attempts)} answer(s); last errors:\n"
            + format_diagnostics(result.diagnostics),
            result,
        )
    return result


async def generate_scaffold(
    model: Model,
    task: str,
    *,
    registry: Sequence[str] = (),
    max_repairs: int = 2,
    temperature: float = 0.0,
    max_tokens: int = 1200,
    raise_on_failure: bool = True,
) -> Generation:
    """Ask ``model`` for a whole module (score, notes, cadence) for a developer to review.

    The module is checked with :func:`cadence.validate.check_source` in module mode and repaired
    like a composition; it is never imported, executed or written anywhere by this function.

    Args:
        model: Any model.
        task: What the module's cadence should do.
        registry: Names the module may use without defining them (e.g. your own imports).
        max_repairs: Repair rounds after the first answer.
        temperature: Sampling temperature.
        max_tokens: Token cap for each answer.
        raise_on_failure: Raise :class:`CodegenError` when no answer validates.
    """
    _check_task(task)
    if isinstance(registry, str):
        # list("load_order") is ten one-letter names.
        raise TypeError(f"registry must be a list of names, got the string {registry!r}")
    if max_repairs < 0:
        raise ValueError(f"max_repairs must be >= 0, got {max_repairs}")
    if max_tokens < 1:
        raise ValueError(f"max_tokens must be >= 1, got {max_tokens}")
    convo: list[Message] = [
        SystemMessage(content=_prompts.read("scaffold.md")),
        UserMessage(content=f"Task: {task}"),
    ]
    attempts: list[Answer] = []
    turn: list[Message] = []
    for round_ in range(max_repairs + 1):
        request = ModelRequest(
            messages=(*convo, *turn), temperature=temperature, max_tokens=max_tokens
        )
        started = time.perf_counter()
        response = await model.complete(request)
        elapsed = time.perf_counter() - started
        source = extract_module(response.text)
        diags = check_source(source, registry=list(registry), mode="module")
        if "Cadence(" not in source:
            diags = [*diags, _problem("the module defines no Cadence", "build one at module level")]
        diags = _cut_off(response, max_tokens, diags)
        attempts.append(
            Answer(round_, response.text, source, tuple(diags), response.usage, elapsed)
        )
        if attempts[-1].ok or round_ == max_repairs:
            break
        repair = _prompts.read("repair.md").format(diagnostics=format_diagnostics(diags))
        repair = repair.replace("composition", "module")
        turn = [AssistantMessage(content=response.text), UserMessage(content=repair.strip())]
    result = Generation("scaffold", tuple(attempts))
    if not result.ok and raise_on_failure:
        raise CodegenError(
            f"no acceptable module after {len(attempts)} answer(s); last errors:\n"
            + format_diagnostics(result.diagnostics),
            result,
        )
    return result
