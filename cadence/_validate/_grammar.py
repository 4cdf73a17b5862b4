"""The DSL as data: the one description of the builder's methods, read by everything else.

``METHODS`` lists each builder method with its parameters, the shape each argument must have
(``SHAPES``), a usage line for diagnostics, and the sentence and example shown to models.
Everything that needs the DSL reads this table: both checking modes and the composition
interpreter; the prompt pack (``cadence_llm._prompts.spec()`` builds its grammar text, GBNF
grammar and JSON plan schema from it; ``prompts/dsl.json`` only holds prompt settings); and the
builder, whose signatures a test holds to the table and whose definition errors quote its
usage lines. It is exported (``cadence.validate.GRAMMAR``) so tools can derive their own forms.

A new builder method is one ``Method`` row here (plus its implementation on ``Cadence``); a
new argument kind is one ``Shape`` row.
"""

from __future__ import annotations

import ast
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from cadence._validate._diagnostics import Diagnostic, at, nearest

__all__ = [
    "ALIASES",
    "COMPOSITION_METHODS",
    "CONSTRUCTOR",
    "GRAMMAR",
    "MAP_POLICIES",
    "MERGE_STRATEGIES",
    "METHODS",
    "OTHER_ATTRIBUTES",
    "SHAPES",
    "WAIT_CONDITIONS",
    "Method",
    "Param",
    "Shape",
    "bind",
    "grammar_table",
    "suggest_method",
]


@dataclass(frozen=True, slots=True)
class Param:
    """One parameter of a builder method: its name, the argument shape, and how it is passed."""

    name: str
    shape: str
    required: bool = True
    keyword_only: bool = False
    arity: int = 0  # positional arguments the callable must accept (0: not a callable)
    advertised: bool = True  # False: accepted (kept for 0.7.2 code), never shown to models


@dataclass(frozen=True, slots=True)
class Method:
    """A builder method: its parameters in positional order, a usage line for diagnostics
    (``summary``), and for the prompt pack the sentence (``doc``) and ``example`` models see."""

    name: str
    params: tuple[Param, ...]
    summary: str
    doc: str = ""
    example: str = ""

    def param(self, name: str) -> Param | None:
        """The parameter called ``name``, if any."""
        return next((p for p in self.params if p.name == name), None)


@dataclass(frozen=True, slots=True)
class Shape:
    """A kind of argument: what the checkers accept, and how models are told to write it."""

    accepts: str  # for people: what a valid argument is
    doc: str  # for models: the line of the grammar text
    placeholder: str  # stands for the argument in signatures shown to models


#: Argument shapes, in the order the grammar text lists them.
SHAPES: dict[str, Shape] = {
    "name": Shape(
        "a non-empty string literal (a step or cadence name)",
        "a step name: a short snake_case string literal, unique in the cadence",
        '"step"',
    ),
    "score": Shape("the score placeholder (``score`` in a composition)", "the word score", "score"),
    "note": Shape(
        "one callable taking the score (a registry name in a composition)",
        "a note from the registry",
        "note",
    ),
    "notes": Shape("a non-empty list of notes", "a list of notes from the registry", "[note, ...]"),
    "branch": Shape(
        "a note or a list of notes", "a list of notes from the registry", "[note, ...]"
    ),
    "condition": Shape(
        "a callable taking the score and returning a truth value",
        "a condition from the registry",
        "condition",
    ),
    "merge": Shape(
        "a callable ``(parent, child_score)``", "a merge function from the registry", "merge"
    ),
    "handler": Shape(
        "a callable ``(score, error)``", "an error handler from the registry", "handler"
    ),
    "cadence": Shape(
        "another cadence (a registry entry holding a ``Cadence``)",
        "a child cadence from the registry",
        "child_cadence",
    ),
    "factory": Shape(
        "a callable ``parent -> child score``",
        "a registry function building the child's score",
        "make_child_score",
    ),
    "strategy": Shape(
        "one of ``MERGE_STRATEGIES`` as a string, or a registry callable",
        "one of the merge strategy strings",
        '"last_write_wins"',
    ),
    "items": Shape(
        "where ``.map`` finds its items: a score field name as a string literal (in a module "
        "also a function ``score -> list``)",
        "the name of the score field holding the list, as a string",
        '"items_field"',
    ),
    "field": Shape(
        "a score field name as a string literal",
        "the name of a score field, as a string",
        '"results_field"',
    ),
    "count": Shape("a positive whole number", "a whole number from 1 to 1000000", "8"),
    "policy": Shape("one of ``MAP_POLICIES`` as a string", '"fail_fast" or "collect"', '"collect"'),
    "bool": Shape("``True`` or ``False``", "True or False", "False"),
    "wait_condition": Shape(
        '``Approval(payload=...)``, ``Signal("name")`` or ``Sleep(...)`` (modules only)',
        "what a wait waits for (modules only)",
        "Approval(payload=...)",
    ),
    "seconds": Shape(
        "a number of seconds (or a ``timedelta`` in a module)",
        "a number of seconds",
        "3600",
    ),
}

CONSTRUCTOR = Method(
    "Cadence",
    (Param("name", "name"), Param("score", "score")),
    "Cadence(name, score): start a cadence",
    doc="Start the cadence: a name and the score placeholder, always written `score`.",
)

METHODS: dict[str, Method] = {
    m.name: m
    for m in (
        Method(
            "then",
            (
                Param("name", "name"),
                Param("task", "note", arity=1),
                Param("can_interrupt", "bool", required=False, keyword_only=True),
            ),
            'then("step", note): run one note',
            doc="Run one note.",
            example='.then("load_order", load_order)',
        ),
        Method(
            "sync",
            (
                Param("name", "name"),
                Param("tasks", "notes", arity=1),
                Param("merge_strategy", "strategy", required=False),
            ),
            'sync("step", [note, note]): run notes concurrently, merge their changes',
            doc="Run independent notes at the same time; their changes to the score are merged.",
            example='.sync("enrich", [fetch_prices, fetch_stock])',
        ),
        Method(
            "split",
            (
                Param("name", "name"),
                Param("condition", "condition", arity=1),
                Param("if_true", "branch", arity=1),
                Param("if_false", "branch", required=False, arity=1),
                Param("parallel", "bool", required=False, keyword_only=True, advertised=False),
            ),
            'split("step", condition, if_true, if_false): run one branch',
            doc="Ask a condition; run the if_true notes when it holds, else the if_false notes.",
            example='.split("route", is_express, [ship_express], [ship_standard])',
        ),
        Method(
            "child",
            (
                Param("name", "name"),
                Param("cadence", "cadence"),
                Param("merge", "merge", arity=2),
                Param("score", "factory", required=False, keyword_only=True, arity=1),
            ),
            'child("step", cadence, merge): run another cadence, merge its score back',
            doc="Run a registered child cadence, then merge its score back with a merge function.",
            example='.child("payment", payment_flow, merge_payment)',
        ),
        Method(
            "map",
            (
                Param("name", "name"),
                Param("items_from", "items", arity=1),
                Param("fn", "note", arity=1),
                Param("concurrency", "count", required=False, keyword_only=True),
                Param("into", "field", required=False, keyword_only=True),
                Param("on_error", "policy", required=False, keyword_only=True),
                Param("errors_into", "field", required=False, keyword_only=True),
            ),
            'map("step", "items", note, concurrency=8, into="results"): run a note per item',
            doc="Run one note per item of a list field, at most concurrency at once; the results "
            'go into the into field in item order. on_error="collect" keeps going past failed '
            "items and lists them in errors_into.",
            example='.map("summarize_each", "documents", summarize, concurrency=8, '
            'into="summaries")',
        ),
        Method(
            "wait",
            (
                Param("name", "name"),
                Param("condition", "wait_condition"),
                Param("into", "field", required=False, keyword_only=True),
                Param("timeout", "seconds", required=False, keyword_only=True),
                Param("on_timeout", "note", required=False, keyword_only=True, arity=1),
                Param("when", "condition", required=False, keyword_only=True, arity=1),
            ),
            'wait("step", Approval(payload=...), into="decision"): park the run until resumed',
            doc="Park a checkpointed run until an approval, a signal or a time (modules only).",
            example='.wait("manager", Approval(payload=for_manager), into="decision")',
        ),
        Method(
            "on_error",
            (Param("handler", "handler", arity=2), Param("stop", "bool", required=False)),
            "on_error(handler, stop=True): handle a failing step",
            doc="Call a handler when a step fails; stop=False carries on with the next step.",
            example=".on_error(report_failure, stop=False)",
        ),
    )
}

#: Builder methods a composition (untrusted text) may use. ``.wait`` is not one of them: a
#: parked run needs a checkpoint store and someone to resume it, which the host sets up.
COMPOSITION_METHODS: frozenset[str] = frozenset(METHODS) - {"wait"}

#: Other public ``Cadence`` attributes: fine in a module, never in a composition.
OTHER_ATTRIBUTES: frozenset[str] = frozenset(
    {
        "with_hooks",
        "with_reporter",
        "with_checkpoint",
        "with_budget",
        "run",
        "run_sync",
        "name",
        "score",
        "steps",
        "hooks",
        "get_score",
        "checkpoint_store",
        "resume",
        "signal",
        "deliver",
        "waits",
        "wake_due",
        "plan",
        "sequence",  # deprecated 0.7.2 builder method; it still works (and warns when called)
    }
)

#: Methods whose result is no longer a cadence (the chain ends there).
TERMINAL = frozenset(
    {
        "plan",
        "run",
        "run_sync",
        "name",
        "score",
        "steps",
        "hooks",
        "get_score",
        "resume",
        "signal",
        "deliver",
        "waits",
        "wake_due",
    }
)

MERGE_STRATEGIES: tuple[str, ...] = ("smart_merge", "fail_on_conflict", "last_write_wins")

#: ``.map(on_error=...)`` policies.
MAP_POLICIES: tuple[str, ...] = ("fail_fast", "collect")

#: What ``.wait`` can wait for (the classes of ``cadence``).
WAIT_CONDITIONS: tuple[str, ...] = ("Approval", "Signal", "Sleep")

#: Names people (and models) reach for, mapped to the DSL method that does that job.
ALIASES: dict[str, str] = {
    "parallel": "sync",
    "gather": "sync",
    "concurrent": "sync",
    "fan_out": "map",
    "for_each": "map",
    "foreach": "map",
    "each": "map",
    "all": "sync",
    "branch": "split",
    "if_": "split",
    "when": "split",
    "route": "split",
    "switch": "split",
    "condition": "split",
    "step": "then",
    "add": "then",
    "pipe": "then",
    "next": "then",
    "do": "then",
    "task": "then",
    "note": "then",
    "sequence": "then",
    "subflow": "child",
    "sub": "child",
    "nest": "child",
    "compose": "child",
    "include": "child",
    "pause": "wait",
    "interrupt": "wait",
    "approve": "wait",
    "approval": "wait",
    "sleep": "wait",
    "wait_for": "wait",
    "suspend": "wait",
    "catch": "on_error",
    "on_failure": "on_error",
    "except_": "on_error",
    "hooks": "with_hooks",
    "checkpoint": "with_checkpoint",
    "budget": "with_budget",
    "execute": "run",
    "start": "run",
}


def suggest_method(name: str, allowed: frozenset[str] | set[str]) -> str | None:
    """The method a misspelled or invented ``name`` most likely meant, within ``allowed``."""
    alias = ALIASES.get(name) or ALIASES.get(name.lower())
    if alias in allowed:
        return alias
    return nearest(name, sorted(allowed)) or nearest(name.lower(), sorted(allowed))


def bind(
    call: ast.Call, method: Method, *, where: str
) -> tuple[dict[str, ast.expr], list[Diagnostic], bool]:
    """Match a call's arguments to ``method``'s parameters like Python would.

    Returns ``(bound, diagnostics, complete)``; ``complete`` is False when ``*args`` or
    ``**kwargs`` hide arguments, so "missing" cannot be judged.
    """
    out: dict[str, ast.expr] = {}
    diags: list[Diagnostic] = []
    complete = True
    positional = [p for p in method.params if not p.keyword_only]
    for i, arg in enumerate(call.args):
        if isinstance(arg, ast.Starred):
            complete = False
            break
        if i >= len(positional):
            diags.append(
                at(
                    arg,
                    "CAD103",
                    f"{where} takes at most {len(positional)} positional arguments, "
                    f"got {len(call.args)}",
                    f"{method.summary}",
                )
            )
            break
        out[positional[i].name] = arg
    for kw in call.keywords:
        if kw.arg is None:
            complete = False
            continue
        param = method.param(kw.arg)
        if param is None:
            guess = nearest(kw.arg, [p.name for p in method.params])
            diags.append(
                at(
                    kw.value,
                    "CAD103",
                    f"{where} has no parameter {kw.arg!r}",
                    f"use {guess}=" if guess else method.summary,
                )
            )
            continue
        if kw.arg in out:
            diags.append(at(kw.value, "CAD103", f"{where} got {kw.arg!r} twice", method.summary))
            continue
        out[kw.arg] = kw.value
    return out, diags, complete


def grammar_table() -> dict[str, Any]:
    """The accepted composition grammar as JSON-ready data (for GBNF / JSON-schema tooling)."""

    def params(m: Method) -> list[dict[str, Any]]:
        return [
            {
                "name": p.name,
                "shape": p.shape,
                "required": p.required,
                "keyword_only": p.keyword_only,
                "arity": p.arity,
            }
            for p in m.params
            if p.advertised
        ]

    return {
        "constructor": {
            "name": CONSTRUCTOR.name,
            "params": params(CONSTRUCTOR),
            "doc": CONSTRUCTOR.doc,
        },
        "methods": {
            name: {"params": params(m), "summary": m.summary, "doc": m.doc, "example": m.example}
            for name, m in METHODS.items()
            if name in COMPOSITION_METHODS
        },
        "merge_strategies": list(MERGE_STRATEGIES),
        "map_policies": list(MAP_POLICIES),
        "shapes": {
            name: {"accepts": sh.accepts, "doc": sh.doc, "placeholder": sh.placeholder}
            for name, sh in SHAPES.items()
        },
        "program": "expression | NAME '=' expression",
    }


GRAMMAR: Mapping[str, Any] = grammar_table()
