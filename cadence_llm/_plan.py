"""The plan: what a model writes instead of code, and how it becomes cadence source.

A plan is plain data, one object per step::

    {"name": "process_order", "steps": [
      {"covers": "Load the order,", "kind": "then", "task": "load_order"},
      {"covers": "then fetch prices and stock in parallel.", "kind": "sync",
       "tasks": ["fetch_prices", "fetch_stock"]}
    ]}

``covers`` holds the words of the task the step does, ``kind`` the builder method, and the
other keys are that method's parameters as the DSL table names them, filled with registry
names. Step names are optional labels: the library writes them when the model does not. The
kinds and keys come from the DSL table, so a method added there is a kind here.

:func:`plan_to_source` renders a plan as composition text (each step's ``covers`` becomes the
``#`` comment above its call), which is then validated and built like any other answer: values
that are not identifiers are written as string literals, which the validator rejects, so a plan
can never smuggle code into the text.
"""

from __future__ import annotations

import io
import json
import re
import tokenize
from collections.abc import Mapping, Sequence
from keyword import iskeyword
from typing import Any

from cadence.validate import Composition, Ref, parse_composition
from cadence_llm._anchor import ends_run
from cadence_llm._prompts import PACK_VERSION, spec
from cadence_llm._wording import content_words

__all__ = [
    "REMARK",
    "SHAPE_ROLE",
    "available",
    "covers_in",
    "plan_schema",
    "plan_to_source",
    "slots",
    "source_to_plan",
    "step_comments",
]

Names = Mapping[str, Sequence[str]]

#: Shape of an argument -> the role of the registry names that may fill it.
SHAPE_ROLE = {
    "note": "note",
    "notes": "note",
    "branch": "note",
    "condition": "condition",
    "merge": "merge",
    "handler": "handler",
    "cadence": "cadence",
    "factory": "factory",
}
_LISTS = ("notes", "branch")
#: The kind of a plan step that does nothing: words of the task that are no action (a lead-in,
#: context, a reason). It is rendered as a comment of its own, so no method call is forced on
#: words that ask for none.
REMARK = "remark"
_NAME = re.compile(r"^[a-z][a-z0-9_]*$")


def available(data: Mapping[str, Any], names: Names | None) -> list[dict[str, Any]]:
    """Methods whose required arguments can be filled; optional ones that cannot are dropped."""
    out = []
    for m in data["methods"]:
        params = []
        usable = True
        for p in m["params"]:
            role = SHAPE_ROLE.get(p["shape"])
            fillable = names is None or role is None or bool(names.get(role))
            if fillable:
                params.append(p)
            elif p["required"]:
                usable = False
        if usable:
            out.append({**m, "params": params})
    return out


def slots(method: Mapping[str, Any]) -> list[dict[str, Any]]:
    """A method's parameters as plan keys: every one but the step name."""
    return [p for p in method["params"] if p["shape"] != "name"]


def _step_name_param(method: Mapping[str, Any]) -> str | None:
    first = method["params"][0] if method["params"] else None
    return first["name"] if first is not None and first["shape"] == "name" else None


def _value_schema(shape: str, data: Mapping[str, Any], names: Names | None) -> dict[str, Any]:
    limits = data["limits"]
    role = SHAPE_ROLE.get(shape)
    ref: dict[str, Any] = {"type": "string"}
    if role is not None and names is not None:
        ref = {"type": "string", "enum": list(names[role])}
    if shape in _LISTS:
        return {"type": "array", "items": ref, "minItems": 1, "maxItems": limits["max_list"]}
    if role is not None:
        return ref
    if shape == "name":
        return {"type": "string", "pattern": _NAME.pattern}
    if shape == "strategy":
        return {"type": "string", "enum": list(data["merge_strategies"])}
    if shape == "bool":
        return {"type": "boolean"}
    if shape in ("items", "field"):
        return {"type": "string", "pattern": _NAME.pattern}
    if shape == "count":
        return {"type": "integer", "minimum": 1, "maximum": 999_999}
    if shape == "policy":
        return {"type": "string", "enum": list(data.get("map_policies", ()))}
    raise ValueError(f"the DSL table uses the shape {shape!r}, which the plan schema does not know")


def plan_schema(
    data: Mapping[str, Any] | None = None, *, names: Names | None = None
) -> dict[str, Any]:
    """A JSON schema of a plan: ``{"name", "steps": [{"covers", "kind", ...slots}]}``.

    ``covers`` comes first in every step so that a model writes the task's words before it
    chooses the method (providers emit keys in schema order).
    """
    data = data or spec()
    variants = []
    for m in available(data, names):
        props: dict[str, Any] = {
            "covers": {"type": "string", "description": "the words of the task this step does"},
            "kind": {"const": m["name"]},
        }
        required = ["covers", "kind"]
        for p in slots(m):
            props[p["name"]] = _value_schema(p["shape"], data, names)
            if p["required"]:
                required.append(p["name"])
        if _step_name_param(m):
            props["name"] = {"type": "string", "pattern": _NAME.pattern}
        variants.append(
            {
                "type": "object",
                "properties": props,
                "required": required,
                "additionalProperties": False,
            }
        )
    variants.append(
        {
            "type": "object",
            "properties": {
                "covers": {"type": "string", "description": "words of the task that are no step"},
                "kind": {"const": REMARK},
            },
            "required": ["covers", "kind"],
            "additionalProperties": False,
        }
    )
    return {
        "$comment": f"cadence-prompts {PACK_VERSION} | JSON schema of a cadence plan, generated "
        "from the DSL table (python -m cadence_llm._derive --write); do not edit",
        "title": "CadencePlan",
        "type": "object",
        "properties": {
            "name": {"type": "string", "pattern": _NAME.pattern},
            "steps": {
                "type": "array",
                "items": {"anyOf": variants},
                "minItems": 1,
                "maxItems": data["limits"]["max_steps"],
            },
        },
        "required": ["name", "steps"],
        "additionalProperties": False,
    }


# -- rendering ----------------------------------------------------------------------------------


def _ref_text(value: Any) -> str:
    # A name that is not an identifier is written as a string literal, which the validator
    # rejects with a clear message: plan values can never smuggle code into the text.
    if isinstance(value, str) and value.isidentifier() and not value.startswith("__"):
        return value
    return json.dumps(value if isinstance(value, str) else str(value))


def _arg_text(shape: str, value: Any) -> str:
    if shape in _LISTS:
        items = value if isinstance(value, list) else [value]
        return "[" + ", ".join(_ref_text(v) for v in items) + "]"
    if shape in ("name", "strategy", "items", "field", "policy"):
        return json.dumps(value if isinstance(value, str) else str(value))
    if shape == "count":
        return str(value) if isinstance(value, int) and not isinstance(value, bool) else "0"
    if shape == "bool":
        return "True" if value is True else "False" if value is False else json.dumps(str(value))
    return _ref_text(value)


def _label(method: Mapping[str, Any], step: Mapping[str, Any], limit: int) -> str:
    """A step name from the step's first registry name (a label the model did not write)."""
    for p in slots(method):
        value = step.get(p["name"])
        if isinstance(value, list) and value:
            value = value[0]
        if SHAPE_ROLE.get(p["shape"]) and isinstance(value, str) and _NAME.match(value):
            return value[:limit]
    return str(method["name"])


def _unique(base: str, taken: set[str], limit: int) -> str:
    name, n = base, 2
    while name in taken:
        suffix = f"_{n}"
        name, n = base[: limit - len(suffix)] + suffix, n + 1
    return name


#: What a comment cannot hold: Python source has no NUL byte and no lone surrogate (it must
#: encode as UTF-8), so either would make a valid plan a syntax error.
_UNWRITABLE = re.compile("[\x00\ud800-\udfff]")


def _comment(text: str) -> list[str]:
    words = " ".join(_UNWRITABLE.sub("\ufffd", str(text)).split())
    return [f"    # {words}"] if words else []


def _remark(text: str) -> list[str]:
    # A blank line after it: the comment is not the words of the step below.
    return [*_comment(text), ""] if str(text).strip() else []


def plan_to_source(plan: Any, data: Mapping[str, Any] | None = None) -> str:
    """Render a plan as composition text (which then goes through the validator).

    Each step's ``covers`` becomes the comment above its call; a ``"remark"`` step is only
    its comment, followed by a blank line (it does nothing). A step without a ``name`` is
    named after its first registry name, made unique among the library's own labels; names
    the model wrote are kept as written (duplicates are the validator's to report).
    ``"method"`` is read as ``"kind"`` (the key of plans before 0.9).

    Raises:
        ValueError: When ``plan`` is not shaped like a plan at all.
    """
    data = data or spec()
    if not isinstance(plan, Mapping) or not isinstance(plan.get("steps"), list):
        raise ValueError('a plan is an object {"name": ..., "steps": [...]}')
    methods = {m["name"]: m for m in data["methods"]}
    limit = int(data["limits"]["max_step_name"])
    name = plan.get("name")
    name = name if isinstance(name, str) and _NAME.match(name) else "generated"
    lines = [f"    Cadence({json.dumps(name)}, {data['score_name']})"]
    given = {s.get("name") for s in plan["steps"] if isinstance(s, Mapping)}
    taken = {n for n in given if isinstance(n, str)}
    for step in plan["steps"]:
        if not isinstance(step, Mapping):
            raise ValueError("each plan step is an object with a 'kind'")
        kind = str(step.get("kind", step.get("method", "")))
        if kind == REMARK:
            lines += _remark(step.get("covers", ""))
            continue
        lines += _comment(step.get("covers", ""))
        method = methods.get(kind)
        if method is None:
            # Keep the unknown method so the validator names it and suggests the right one.
            # A keyword ("if", "try", "import") would be a syntax error instead: written as
            # ".if_()", the validator says which kind was meant (ALIASES: if_ -> split).
            shown = kind if kind.isidentifier() else "unknown"
            if iskeyword(shown):
                shown += "_"
            lines.append(f"    .{shown}()")
            continue
        args: list[str] = []
        label_param = _step_name_param(method)
        if label_param is not None:
            label = step.get("name")
            if not isinstance(label, str) or not label:
                label = _unique(_label(method, step, limit), taken, limit)
                taken.add(label)
            args.append(json.dumps(label))
        for p in slots(method):
            if p["name"] not in step:
                continue
            text = _arg_text(p["shape"], step[p["name"]])
            keyword = p["keyword_only"] or p["shape"] == "bool" or len(args) < _position(method, p)
            args.append(f"{p['name']}={text}" if keyword else text)
        lines.append(f"    .{kind}({', '.join(args)})")
    return "(\n" + "\n".join(lines) + "\n)"


def _position(method: Mapping[str, Any], param: Mapping[str, Any]) -> int:
    return [p["name"] for p in method["params"]].index(param["name"])


def step_comments(source: str, comp: Composition) -> list[tuple[int, str]]:
    """For each step of ``comp``: the line of its method call and the comment just above it.

    The comment is the run of ``#`` lines just above the call (after the previous call, with
    no blank line between them and the call: a comment set apart is a remark, no step's
    words); "" when there is none.
    """
    methods = {m["name"] for m in spec()["methods"]}
    tokens = list(tokenize.generate_tokens(io.StringIO(source).readline))
    calls: list[int] = []
    comments: list[tuple[int, str]] = []
    for i, tok in enumerate(tokens):
        if tok.type == tokenize.COMMENT:
            comments.append((tok.start[0], tok.string.lstrip("#").strip()))
        elif tok.type == tokenize.NAME and tok.string in methods and tokens[i - 1].string == ".":
            calls.append(tok.start[0])
    # A composition's only attribute accesses are its builder calls, in order.
    if len(calls) != len(comp.steps):
        return [(step.line, "") for step in comp.steps]
    out = []
    previous = 0
    at = {n: c for n, c in comments}
    for line in calls:
        block = [at[line]] if line in at else []  # a comment after the call, on its line
        n = line - 1
        while n > previous and n in at:
            block.insert(0, at[n])
            n -= 1
        out.append((line, " ".join(block)))
        previous = line
    return out


def source_to_plan(source: str) -> dict[str, Any]:
    """The plan of an accepted composition (the inverse of :func:`plan_to_source`).

    Raises:
        ValueError: ``source`` is not an accepted composition.
    """
    comp, diags = parse_composition(source, None)
    if comp is None:
        raise ValueError("not an accepted composition: " + "; ".join(d.message for d in diags[:3]))
    steps = []
    for spec_, (_, covers) in zip(comp.steps, step_comments(source, comp), strict=True):
        step: dict[str, Any] = {"covers": covers, "kind": spec_.method}
        for key, value in spec_.args.items():
            if isinstance(value, tuple):
                step[key] = [ref.name for ref in value if ref is not None]
            elif isinstance(value, Ref):
                step[key] = value.name
            else:
                step[key] = value
        steps.append(step)
    return {"name": comp.name, "steps": steps}


def covers_in(task: str, said: str, start: int = 0) -> tuple[int, int] | None:
    """``(first, last)`` word indices of ``task`` that ``said`` quotes, from word ``start``.

    Words compare lower-cased, without surrounding punctuation; ``said`` may leave words of
    the task out (the span runs from its first word to its last). None when it quotes nothing.
    """

    def bare(w: str) -> str:
        return w.strip(".,;:!?()\"'").lower()

    words = [bare(w) for w in task.split()]
    quoted = [bare(w) for w in said.split() if bare(w)]
    if not quoted:
        return None
    for i in range(start, len(words)):
        if words[i] != quoted[0]:
            continue
        j, last = i, i
        for q in quoted[1:]:
            while j + 1 < len(words) and words[j + 1] != q:
                j += 1
            if j + 1 >= len(words):
                break
            j += 1
            last = j
        return i, last
    return None


def format_plan(plan: Mapping[str, Any], data: Mapping[str, Any] | None = None) -> str:
    """A plan as the plan grammar spells it: one step per line, ``covers`` and ``kind`` first,
    then the slots in the DSL's order (worked examples are shown to models in this form)."""
    data = data or spec()
    methods = {m["name"]: m for m in data["methods"]}
    rows = []
    for step in plan["steps"]:
        row = {"covers": step.get("covers", ""), "kind": step["kind"]}
        if step["kind"] != REMARK:
            method = methods[step["kind"]]
            row |= {p["name"]: step[p["name"]] for p in slots(method) if p["name"] in step}
        rows.append(json.dumps(row))
    head = json.dumps(plan.get("name") or "generated")
    return f'{{"name": {head}, "steps": [\n  ' + ",\n  ".join(rows) + "\n]}"


def example_plan(task: str, answer: str) -> dict[str, Any]:
    """The plan of a worked example: its answer's steps, each covering the task's words that
    its comment quotes, extended so that the steps cover every word of the task in order (as
    an anchored grammar makes a model do). Words no comment quotes join the step after them
    (the last step, at the end), unless they hold content words and end in punctuation: then
    they are a ``"remark"`` step (a lead-in, context, a reason)."""
    plan = source_to_plan(answer)
    words = task.split()
    steps: list[dict[str, Any]] = []
    start = 0

    def remark(first: int, last: int) -> bool:
        gap = words[first:last]
        return bool(gap) and ends_run(gap[-1]) and bool(content_words(" ".join(gap)))

    for step in plan["steps"]:
        span = covers_in(task, step["covers"], start)
        if span is None:
            raise ValueError(f"the comment {step['covers']!r} quotes nothing of {task!r}")
        first = span[0]
        if remark(start, first):
            steps.append({"covers": " ".join(words[start:first]), "kind": REMARK})
        else:
            first = start
        step["covers"] = " ".join(words[first : span[1] + 1])
        steps.append(step)
        start = span[1] + 1
    if start < len(words):
        if remark(start, len(words)):
            steps.append({"covers": " ".join(words[start:]), "kind": REMARK})
        elif steps:
            steps[-1]["covers"] += " " + " ".join(words[start:])
    plan["steps"] = steps
    return plan
