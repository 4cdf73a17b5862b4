"""Forms derived from the DSL table: GBNF grammars and the JSON plan schema.

One source, several consumers: the text models read (:func:`cadence_llm._prompts.grammar_text`),
llama.cpp's constrained decoding (:func:`gbnf` for compositions, :func:`plan_gbnf` for plans),
and providers' structured-output modes (:func:`cadence_llm._plan.plan_schema`). With a
registry's names (grouped by role) the grammars and the schema are narrowed so that a
constrained model can only write registry names in the right slots; with a task, the words
before each step are anchored to the task (:mod:`cadence_llm._anchor`). Both the method rules
and the plan's keys come from the DSL table: a method added there can be written here.
The generic forms are committed in ``prompts/`` and a test regenerates and compares them.

The table is ``cadence.validate.GRAMMAR`` (the builder's), with the prompt settings of
``prompts/dsl.json``, as :func:`cadence_llm._prompts.spec` lays them out. Run
``python -m cadence_llm._derive --write`` after changing either.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from cadence_llm._anchor import COMPOSITION, PLAN, Resume, anchored_rules
from cadence_llm._plan import REMARK, SHAPE_ROLE, available, plan_schema, plan_to_source, slots
from cadence_llm._prompts import PACK_VERSION, grammar_text, pack_dir, spec

__all__ = [
    "DERIVED",
    "Resume",
    "gbnf",
    "plan_gbnf",
    "plan_schema",
    "plan_to_source",
    "render_derived",
]

Names = Mapping[str, Sequence[str]]


def _lit(text: str) -> str:
    return json.dumps(text)


@dataclass(frozen=True, slots=True)
class _Syntax:
    """How one kind of answer spells a method call (composition text or plan JSON)."""

    plan: bool

    def opening(self, method: str) -> str:
        return method + ('"' if self.plan else "(")

    def key(self, param: Mapping[str, Any], first: bool) -> str:
        if self.plan:
            return f', "{param["name"]}": '
        sep = "" if first else ", "
        keyword = param["keyword_only"] or param["shape"] == "bool"
        return sep + (param["name"] + "=" if keyword else "")

    def closing(self) -> str:
        return "" if self.plan else ")"

    def value(self, shape: str, value: Any) -> str:
        """A forced literal value (booleans only)."""
        if self.plan:
            return "true" if value else "false"
        return "True" if value else "False"


_TEXT, _JSON = _Syntax(plan=False), _Syntax(plan=True)


def _rule_name(method: str, suffix: str = "") -> str:
    return f"m-{method.replace('_', '-')}{suffix}"


def _method_rule(
    m: Mapping[str, Any],
    syntax: _Syntax,
    *,
    suffix: str = "",
    force: Mapping[str, Any] | None = None,
    avoid: Mapping[str, str] | None = None,
) -> str:
    """One method's rule: its parameters in order, optional ones optional.

    ``force`` sets parameters: None leaves one out, ``True``/``False`` writes that value,
    ``"*"`` makes an optional one required. ``avoid`` names the rule a list parameter's first
    item comes from instead of its role's rule.
    """
    force = force or {}
    params = m["params"] if not syntax.plan else slots(m)
    parts = [_lit(syntax.opening(m["name"]))]
    for i, p in enumerate(params):
        if p["name"] in force and force[p["name"]] is None:
            continue
        key = syntax.key(p, i == 0)
        value = f"s-{p['shape']}"
        if avoid and p["name"] in avoid:
            listed = p["shape"] in ("notes", "branch")
            value = f'"[" {avoid[p["name"]]} s-more-{p["shape"]}' if listed else avoid[p["name"]]
        forced = force.get(p["name"])
        if isinstance(forced, bool):
            value = _lit(syntax.value(p["shape"], forced))
        piece = f"{_lit(key)} {value}" if key else value
        required = p["required"] or p["name"] in force
        parts.append(piece if required else f"({piece})?")
    if syntax.closing():
        parts.append(_lit(syntax.closing()))
    return f"{_rule_name(m['name'], suffix)} ::= " + " ".join(parts)


def _shape_rules(
    shapes: set[str], data: Mapping[str, Any], names: Names | None, syntax: _Syntax
) -> list[str]:
    more = data["limits"]["max_list"] - 1

    rules = {
        "name": "s-name ::= step-name",
        "note": "s-note ::= r-note",
        "notes": 's-notes ::= "[" r-note s-more-notes',
        "more-notes": f's-more-notes ::= (", " r-note){{0,{more}}} "]"',
        "branch": 's-branch ::= "[" r-note s-more-branch',
        "more-branch": f's-more-branch ::= (", " r-note){{0,{more}}} "]"',
        "condition": "s-condition ::= r-condition",
        "merge": "s-merge ::= r-merge",
        "handler": "s-handler ::= r-handler",
        "cadence": "s-cadence ::= r-cadence",
        "factory": "s-factory ::= r-factory",
        "strategy": "s-strategy ::= "
        + " | ".join(_lit(json.dumps(s)) for s in data["merge_strategies"]),
        "bool": "s-bool ::= " + ('"true" | "false"' if syntax.plan else '"True" | "False"'),
        # Score fields and counts are spelled alike in plans and in composition text.
        "items": "s-items ::= field-name",
        "field": "s-field ::= field-name",
        "count": "s-count ::= [1-9] [0-9]{0,5}",
        "policy": "s-policy ::= "
        + " | ".join(_lit(json.dumps(s)) for s in data.get("map_policies", ())),
    }
    lines = []
    used = set(shapes)
    used |= {f"more-{s}" for s in shapes if s in ("notes", "branch")}
    for shape in sorted(used):
        if shape not in rules:
            raise ValueError(
                f"the DSL table uses the shape {shape!r}, which the grammars do not know"
            )
        lines.append(rules[shape])
    if used & {"items", "field"}:
        lines.append('field-name ::= "\\"" [a-z] [a-z0-9_]{0,31} "\\""')
    for role in sorted({SHAPE_ROLE[s] for s in shapes if s in SHAPE_ROLE}):
        if names is None:
            # Registry names are JSON strings in a plan.
            body = '"\\"" ident "\\""' if syntax.plan else "ident"
            lines.append(f"r-{role} ::= {body}")
        else:
            lines.append(
                f"r-{role} ::= " + " | ".join(_lit(_quote(n, syntax)) for n in names[role])
            )
    if names is None:
        lines.append("ident ::= [a-zA-Z_] [a-zA-Z0-9_]{0,63}")
    return lines


def _quote(name: str, syntax: _Syntax) -> str:
    return json.dumps(name) if syntax.plan else name


def _resume_rules(
    resume: Resume, methods: Sequence[Mapping[str, Any]], names: Names | None, syntax: _Syntax
) -> list[str]:
    """``step-resume``: the step written again, as ``resume`` says."""
    if resume.only is not None:
        chosen = [m for m in methods if m["name"] == resume.only]
    else:
        chosen = [m for m in methods if m["name"] not in resume.exclude]
    if not chosen:
        raise ValueError(
            "nothing is left to write this step with: every method the registry allows "
            f"({', '.join(m['name'] for m in methods)}) was excluded"
        )
    lines = []
    avoid: dict[str, str] = {}
    for param, taken in resume.avoid_first.items():
        notes = [n for n in (names or {}).get("note", ()) if n not in taken]
        if not notes:
            raise ValueError(f"every note was excluded from the start of {param}")
        rule = f"r-first-{param.replace('_', '-')}"
        avoid[param] = rule
        lines.append(f"{rule} ::= " + " | ".join(_lit(_quote(n, syntax)) for n in notes))
    for m in chosen:
        lines.append(_method_rule(m, syntax, suffix="-again", force=resume.force, avoid=avoid))
    again = [_rule_name(m["name"], "-again") for m in chosen]
    if syntax.plan and resume.only is None and REMARK not in resume.exclude:
        again.append(_rule_name(REMARK))
    lines.append("step-resume ::= " + " | ".join(again))
    return lines


def _grammar(
    data: Mapping[str, Any] | None,
    names: Names | None,
    task: str | None,
    resume: Resume | None,
    syntax: _Syntax,
    what: str,
) -> str:
    data = data or spec()
    methods = available(data, names)
    layout = PLAN if syntax.plan else COMPOSITION
    anchored = anchored_rules(task, layout, resume) if task else None
    if resume is not None and anchored is None:
        raise ValueError("resume needs a task short enough to anchor")
    if anchored is None:
        anchored = [_free_root(data, syntax)]
    lines = [
        f"# cadence-prompts {PACK_VERSION} | GBNF for {what}, generated from the DSL table "
        "(python -m cadence_llm._derive --write); do not edit",
        *anchored,
        "step ::= "
        + " | ".join(_rule_name(m["name"]) for m in methods)
        + (f" | {_rule_name(REMARK)}" if syntax.plan else ""),
    ]
    if syntax.plan:
        # Words that are no action: a step of its own that does nothing (no call is forced).
        lines.append(f"{_rule_name(REMARK)} ::= {_lit(_JSON.opening(REMARK))}")
    shapes: set[str] = set()
    for m in methods:
        lines.append(_method_rule(m, syntax))
        shapes |= {p["shape"] for p in (slots(m) if syntax.plan else m["params"])}
    if resume is not None:
        lines += _resume_rules(resume, methods, names, syntax)
    lines += _shape_rules(shapes, data, names, syntax)
    limit = data["limits"]["max_step_name"] - 1
    if syntax.plan:
        lines.append(f"cadence-name ::= [a-z] [a-z0-9_]{{0,{limit}}}")
        if not task:
            lines.append('covers ::= [^"\\\\\\n]{0,400}')
    else:
        lines.append(f'step-name ::= "\\"" [a-z] [a-z0-9_]{{0,{limit}}} "\\""')
        if not task and data.get("step_comments"):
            # A comment is inert (the parser drops it); it lets the model restate the step.
            lines.append("comment ::= [^\\n]{1,160}")
    return "\n".join(lines) + "\n"


def _free_root(data: Mapping[str, Any], syntax: _Syntax) -> str:
    most = data["limits"]["max_steps"]
    if syntax.plan:
        step = '"{\\"covers\\": \\"" covers "\\", \\"kind\\": \\"" step "}"'
        return (
            'root ::= "{\\"name\\": \\"" cadence-name "\\", \\"steps\\": [\\n  " '
            f'{step} (",\\n  " {step}){{0,{most - 1}}} "\\n]}}"'
        )
    comment = '"\\n    # " comment ' if data.get("step_comments") else ""
    return (
        'root ::= "(\\n    Cadence(" step-name ", '
        + str(data["score_name"])
        + ')" ('
        + comment
        + f'"\\n    ." step){{1,{most}}} "\\n)"'
    )


def gbnf(
    data: Mapping[str, Any] | None = None,
    *,
    names: Names | None = None,
    task: str | None = None,
    resume: Resume | None = None,
) -> str:
    """A llama.cpp GBNF grammar for compositions (narrowed to ``names`` by role if given).

    With ``task``, the comment above each call is a run of the task's words (see
    :mod:`cadence_llm._anchor`); with ``resume`` as well, the grammar writes one step of an
    earlier anchored answer again.
    """
    return _grammar(data, names, task, resume, _TEXT, "compositions")


def plan_gbnf(
    data: Mapping[str, Any] | None = None,
    *,
    names: Names | None = None,
    task: str | None = None,
    resume: Resume | None = None,
) -> str:
    """A llama.cpp GBNF grammar for JSON plans (``covers`` first, then ``kind`` and slots).

    Step names are left to the library (they are labels). With ``task``, each step's
    ``covers`` is a run of the task's words; with ``resume``, one step is written again.
    """
    return _grammar(data, names, task, resume, _JSON, "plans")


#: Derived file name -> function producing its text.
def render_derived() -> dict[str, str]:
    """The text each derived file in ``prompts/`` must have."""
    data = spec()
    header = (
        f"<!-- cadence-prompts {PACK_VERSION} | grammar text for models, generated from the DSL table "
        "(python -m cadence_llm._derive --write); do not edit -->\n"
    )
    return {
        "grammar.md": header + grammar_text(data),
        "cadence.gbnf": gbnf(data),
        "plan.gbnf": plan_gbnf(data),
        "plan.schema.json": json.dumps(plan_schema(data), indent=2) + "\n",
    }


DERIVED: tuple[str, ...] = ("grammar.md", "cadence.gbnf", "plan.gbnf", "plan.schema.json")


def main(argv: Sequence[str] | None = None) -> int:
    """``--write`` regenerates the derived files; ``--check`` exits 1 if any has drifted."""
    args = list(sys.argv[1:] if argv is None else argv)
    folder = pack_dir()
    stale = []
    for name, text in render_derived().items():
        path = folder / name
        current = path.read_text(encoding="utf-8") if path.exists() else None
        if current != text:
            stale.append(name)
            if "--write" in args:
                path.write_text(text, encoding="utf-8")
    if "--write" in args:
        print("rewrote " + (", ".join(stale) or "nothing (all up to date)"))
        return 0
    if stale:
        print("out of date: " + ", ".join(stale) + " (run python -m cadence_llm._derive --write)")
        return 1
    print("prompt pack derived files are up to date")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
