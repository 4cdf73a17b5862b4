"""Models that write cadence: prompt pack -> model -> validate -> repair -> safe build.

:func:`generate_cadence` asks a model for a *composition* (one cadence expression over the names
of a registry), checks it with :mod:`cadence.validate` in composition mode, sends the
diagnostics back for a bounded number of repair rounds, and finally interprets the accepted
text into a runnable ``Cadence`` with :func:`cadence.validate.build`. The model's text is never
passed to ``exec``, ``eval`` or ``compile``: whatever it writes, the worst outcome is a
rejection.

Three ways to ask (``mode``):

- ``"text"``: free text; the composition is taken from the answer's code block.
- ``"grammar"``: decoding constrained by a GBNF grammar narrowed to the registry's names (models
  that honour a ``grammar`` request field: :class:`~cadence_llm.models.local.LocalModel`, and
  llama.cpp servers through ``OpenAICompatModel``).
- ``"json"``: a JSON plan under the provider's structured-output mode, rendered to a composition.

:func:`generate_scaffold` writes a whole module (score, notes, cadence) for a person to review;
it is checked in module mode and never imported or run by us.
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

from cadence import Cadence
from cadence.exceptions import CadenceError, ValidationError
from cadence.validate import CODES, Diagnostic, Ref, build, check_source, parse_composition
from cadence_llm import _derive, _grounding, _prompts
from cadence_llm._extract import extract_code, extract_json, extract_module
from cadence_llm._registry import describe_registry, describe_score, docs_of, roles_of
from cadence_llm.messages import (
    AssistantMessage,
    Message,
    ModelRequest,
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
    "Generation",
    "Mode",
    "check_answer",
    "generate_cadence",
    "generate_scaffold",
    "grammar_for",
    "plan_schema_for",
    "source_to_plan",
]

Mode = Literal["text", "grammar", "json"]
#: The task-grounding warnings (CAD7xx in the shared code table).
GROUNDING_CODES = frozenset(code for code in CODES if code.startswith("CAD7"))
_STOP = {"text": ("\n```\n",)}
MODES: tuple[str, ...] = ("text", "grammar", "json")


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
    resume: _derive.Resume | None = None,
) -> str:
    """The GBNF grammar narrowed to ``registry``: only its names, each in its role's slots.

    With ``task``, the step comments must quote the task in order, every word once: a step is
    one clause (or several) of the task, and the cadence ends with the task. ``resume``
    re-decodes one step of such an answer (used by the repair rounds).
    """
    return _derive.gbnf(names=roles_of(registry, roles), task=task, resume=resume)


def plan_schema_for(
    registry: Mapping[str, Any], *, roles: Mapping[str, str] | None = None
) -> dict[str, Any]:
    """The JSON plan schema narrowed to ``registry`` (names as enums per role)."""
    return _derive.plan_schema(names=roles_of(registry, roles))


def source_to_plan(source: str) -> dict[str, Any]:
    """The JSON plan of an accepted composition (the inverse of the JSON mode's rendering).

    Raises:
        ValidationError: ``source`` is not an accepted composition.
    """
    comp, diags = parse_composition(source, None)
    if comp is None:
        raise ValidationError("not an accepted composition", diags)
    steps = []
    for spec in comp.steps:
        step: dict[str, Any] = {"method": spec.method}
        for key, value in spec.args.items():
            if isinstance(value, tuple):
                step[key] = [ref.name for ref in value if ref is not None]
            elif isinstance(value, Ref):
                step[key] = value.name
            else:
                step[key] = value
        steps.append(step)
    return {"name": comp.name, "steps": steps}


# -- checking one answer ------------------------------------------------------------------------


def _problem(message: str, hint: str) -> Diagnostic:
    return Diagnostic("CAD001", "error", 1, 0, message, hint)


def check_answer(
    text: str, registry: Mapping[str, Any], *, mode: str = "text", score: Any = None
) -> tuple[str, list[Diagnostic], Cadence[Any] | None]:
    """Extract, validate and (when clean and a ``score`` is given) build one model answer.

    Returns:
        ``(source, diagnostics, cadence)``; ``cadence`` is None unless the answer was accepted
        and ``score`` was given.
    """
    if mode == "json":
        try:
            source = _derive.plan_to_source(extract_json(text))
        except ValueError as exc:
            return (
                text.strip(),
                [_problem(str(exc), 'answer with {"name": ..., "steps": [...]}')],
                None,
            )
    else:
        source = extract_code(text)
    diags = check_source(source, registry=registry, mode="composition")
    if any(d.is_error for d in diags) or score is None:
        return source, diags, None
    try:
        cadence = build(source, registry, score=score)
    except ValidationError as exc:
        return source, [*diags, *exc.diagnostics], None
    except (CadenceError, TypeError, ValueError) as exc:
        # The builder's own definition checks (e.g. a registry value it cannot use).
        return source, [*diags, _problem(f"the cadence could not be built: {exc}", "")], None
    return source, diags, cadence


def _anchor_point(source: str, call: int, task: str) -> tuple[str, int] | None:
    """``(prefix, next_word)`` to re-decode the call on line ``call`` of an anchored answer.

    ``prefix`` is the answer up to that call (ending in ``"\\n    ."``); ``next_word`` the index
    of the task's first word after the comments so far. None unless the answer has the anchored
    layout (one comment line, then one call line, per step; the comments spell out the task).
    """
    lines = source.split("\n")
    if not (2 <= call <= len(lines)) or not lines[call - 1].startswith("    ."):
        return None
    if not lines[call - 2].startswith("    # "):
        return None
    said = " ".join(x[6:] for x in lines[: call - 1] if x.startswith("    # ")).split()
    words = task.lower().split()[: len(said)]
    if [w.rstrip(",;.:") for w in said] != [w.rstrip(",;.:") for w in words]:
        return None
    return "\n".join(lines[: call - 1]) + "\n    .", len(said)


def _resume(
    source: str,
    registry: Mapping[str, Any],
    task: str,
    tried: dict[str, set[str]],
    docs: Mapping[str, str],
) -> _derive.Resume | None:
    """Where and how to re-decode an anchored answer: the first step its comment contradicts.

    None unless ``source`` has the anchored layout (:func:`_anchor_point`), or when every way to
    re-decode that step was tried already (``tried`` remembers them per answer prefix).
    """
    comp, _ = parse_composition(source, registry)
    if comp is None:
        return None
    found = _grounding.first_fix(source, comp, task, docs)
    if found is None:
        return None
    index, fix = found
    steps = _grounding.step_comments(source, comp)
    point = _anchor_point(source, steps[index][0], task)
    if point is None:
        return None
    prefix, next_word = point
    step = comp.steps[index]
    # What was already tried at this point of the answer is excluded too.
    done = tried.setdefault(f"{fix}:{prefix}", set())
    if fix == "method":
        done.add(step.method)
        if len(done) >= len(_prompts.spec()["methods"]):
            return None
    elif fix == "branches":
        done |= _grounding.misplaced_branches(step, steps[index][1], docs)
    elif fix == "more_notes":
        if done:
            return None
        notes = step.args.get("tasks")
        done.add(str(len(notes) if isinstance(notes, tuple) else 1))
    elif done:
        return None  # this option was forced here once already
    else:
        done.add(fix)
    return _derive.Resume(prefix, next_word, fix, frozenset(done))


# The methods whose first argument is a step name, from the DSL's source of truth.
_NAMED = "|".join(
    m["name"] for m in _prompts.spec()["methods"] if m["params"][0]["shape"] == "name"
)
_STEP_NAME = re.compile(rf'^\s*\.(?:{_NAMED})\("([^"]*)"')


def _rename(
    source: str, task: str, diags: Sequence[Diagnostic], tried: dict[str, set[str]]
) -> _derive.Resume | None:
    """Re-decode the first step whose name an earlier step already has (``CAD107``).

    The names are labels, but the validator rejects a duplicate, and a small model asked in
    chat mostly repeats its answer: so the step is decoded again, from the same point, under a
    grammar that admits any name but the earlier steps'.
    """
    if any(d.is_error and d.code != "CAD107" for d in diags):
        return None
    line = min(d.line for d in diags if d.code == "CAD107")
    point = _anchor_point(source, line, task)
    if point is None or f"rename:{point[0]}" in tried:
        return None
    prefix, next_word = point
    taken = {m.group(1) for x in source.split("\n")[: line - 1] if (m := _STEP_NAME.match(x))}
    tried[f"rename:{prefix}"] = taken
    return _derive.Resume(prefix, next_word, "rename", frozenset(taken))


def _grounding_findings(
    source: str, registry: Mapping[str, Any], task: str, docs: Mapping[str, str]
) -> list[Diagnostic]:
    comp, _ = parse_composition(source, registry)
    return [] if comp is None else _grounding.check_grounding(source, comp, task, docs=docs)


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


def _answer_text(answer: str, mode: str) -> str:
    if mode == "json":
        return json.dumps(source_to_plan(answer))
    if mode == "grammar":
        return answer
    return f"```python\n{answer}\n```"


def _system(mode: str) -> str:
    text = _prompts.read("system.md") + "\n" + _prompts.read("grammar.md")
    if mode == "json":
        text += (
            '\nAnswer with a JSON plan instead of code: {"name": "<cadence name>", "steps": '
            '[{"method": "then", "name": "<step>", "task": "<note>"}, ...]}, one object per '
            "method call, keys named like the parameters above.\n"
        )
    return text


def _task_message(task: str, score: str, registry_text: str) -> str:
    return _prompts.read("task.md").format(task=task, score=score, registry=registry_text).strip()


def build_messages(
    task: str,
    registry: Mapping[str, Any],
    score_type: Any = None,
    *,
    mode: str = "text",
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
            messages.append(AssistantMessage(content=_answer_text(ex["answer"], mode)))
    registry_text = describe_registry(registry, roles=roles, docs=docs)
    messages.append(
        UserMessage(content=_task_message(task, describe_score(score_type), registry_text))
    )
    return messages


def _request_options(
    mode: str, registry: Mapping[str, Any], roles: Mapping[str, str] | None, task: str | None
) -> dict[str, Any]:
    if mode == "grammar":
        return {"extra": {"grammar": grammar_for(registry, roles=roles, task=task)}}
    if mode == "json":
        schema = plan_schema_for(registry, roles=roles)
        return {"response_format": ResponseFormat(type="json_schema", schema=schema, name="plan")}
    return {}


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
    mode: Mode = "text",
    max_repairs: int = 2,
    roles: Mapping[str, str] | None = None,
    docs: Mapping[str, str] | None = None,
    examples: bool | int = True,
    temperature: float = 0.0,
    max_tokens: int = 400,
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
        task: What the cadence should do, in plain words.
        registry: The names the cadence may use -> note functions, conditions, merge functions,
            error handlers and child ``Cadence`` objects. Docstrings are shown to the model.
        score_type: The score class (its fields are shown to the model); an instance works too.
        score: The score the built cadence runs on by default (else ``score_type()``).
        mode: ``"text"``, ``"grammar"`` (GBNF-constrained) or ``"json"`` (structured output).
        max_repairs: Chat repair rounds after the first answer (0: no repair).
        roles: Explicit roles (``"note"``, ``"condition"``, ``"merge"``, ``"handler"``,
            ``"cadence"``, ``"factory"``) for registry names whose signature does not tell.
        docs: One-line descriptions overriding the docstrings.
        examples: Worked examples shown as earlier turns: True for the three closest to the
            task's structure, an int for that many, False for none.
        temperature: Sampling temperature for every call.
        max_tokens: Token cap for each answer.
        raise_on_failure: Raise :class:`CodegenError` when no answer is accepted (else return
            the failed :class:`Generation`).
        messages: A conversation to use instead of the pack's prompt (evals use this for a
            baseline); the repair rounds still follow.
        stop: Stop sequences; by default free text stops after the closing code fence, so a
            model does not spend tokens explaining its answer.
        ground: Check a valid answer against the task (``CAD701``-``CAD704``: steps the task
            never asked for, parts of it no step does, parallel work, decisions, failure
            handling and options the wording asks for but the code lacks) and spend the
            remaining repair rounds on those findings too. The result is the valid answer with
            the fewest findings; a valid answer is never traded for an invalid repair.
        anchor: In ``"grammar"`` mode, make the step comments quote the task in order, every
            word once (:func:`grammar_for` with ``task``): the model still chooses where to cut
            the task into steps and what each step is, but cannot add steps the task never
            mentions, drop parts of it, or run on past its end. Tasks over
            ``ANCHOR_MAX_WORDS`` words get free comments.
        max_redecodes: With an anchored grammar, how many times a step its comment
            contradicts may be decoded again (cheap: the prompt is cached and only the rest of
            the answer is decoded), on top of ``max_repairs`` chat rounds.

    Returns:
        A :class:`Generation`; ``.cadence`` is the built cadence when the answer was accepted.
    """
    if mode not in MODES:
        raise ValueError(f"mode must be one of {', '.join(MODES)}; got {mode!r}")
    if max_repairs < 0:
        raise ValueError(f"max_repairs must be >= 0, got {max_repairs}")
    if max_redecodes < 0:
        raise ValueError(f"max_redecodes must be >= 0, got {max_redecodes}")
    if not isinstance(registry, Mapping) or not registry:
        raise ValueError("generate_cadence() needs a non-empty registry mapping names to functions")
    build_score = _default_score(score_type, score)
    convo = (
        list(messages)
        if messages is not None
        else build_messages(
            task, registry, score_type, mode=mode, roles=roles, docs=docs, examples=examples
        )
    )
    options = _request_options(mode, registry, roles, task if anchor else None)
    options["stop"] = tuple(stop if stop is not None else _STOP.get(mode, ()))
    base_options = options
    tried: dict[str, set[str]] = {}
    descriptions = docs_of(registry, docs)
    anchored = mode == "grammar" and anchor and _derive.anchors(task)
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
        response = await model.complete(request)
        elapsed = time.perf_counter() - started
        source, diags, built = check_answer(response.text, registry, mode=mode, score=build_score)
        if ground and not any(d.is_error for d in diags):
            diags = [*diags, *_grounding_findings(source, registry, task, descriptions)]
        attempt = Answer(round_, response.text, source, tuple(diags), response.usage, elapsed)
        attempts.append(attempt)
        round_ += 1
        if attempt.ok and (best is None or len(attempt.findings) < len(best[0].findings)):
            best = (attempt, len(attempts) - 1, built)
        if attempt.ok and not attempt.findings:
            break
        resume = None
        if redecodes_left > 0 and attempt.ok:
            resume = _resume(source, registry, task, tried, descriptions)
        elif redecodes_left > 0 and any(d.code == "CAD107" for d in diags):
            resume = _rename(source, task, diags, tried)
        if resume is not None:
            # An anchored answer with a step its comment contradicts: keep the answer up to
            # that step and let the model write the step again, without what was tried there
            # (same conversation, so the prompt is served from the model's cache).
            redecodes_left -= 1
            options = {
                **base_options,
                "extra": {"grammar": grammar_for(registry, roles=roles, task=task, resume=resume)},
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
