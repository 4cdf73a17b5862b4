"""Forms derived from the DSL table: GBNF grammar, JSON plan schema, plan rendering.

One source, three consumers: the text models read (:func:`cadence_llm._prompts.grammar_text`),
llama.cpp's constrained decoding (:func:`gbnf`), and providers' structured-output modes
(:func:`plan_schema`). With a registry's names (grouped by role) both the grammar and the schema
are narrowed so that a constrained model can only write registry names in the right slots.
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

from cadence_llm._prompts import (
    PACK_VERSION,
    content_words,
    grammar_text,
    pack_dir,
    spec,
    task_features,
)

__all__ = [
    "DERIVED",
    "gbnf",
    "plan_schema",
    "plan_to_source",
    "render_derived",
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


def _available(data: Mapping[str, Any], names: Names | None) -> list[dict[str, Any]]:
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


def _lit(text: str) -> str:
    return json.dumps(text)


#: Most words of a task the anchored grammar spells out; longer tasks get free comments.
ANCHOR_MAX_WORDS = 160
_CUT_AFTER = (",", ";", ".", ":")
_CUT_BEFORE = frozenset({"then", "finally", "afterwards", "lastly"})


_SEQUENCING = frozenset({"then", "next", "finally", "afterwards", "after", "lastly"})
_LEAD_INS = frozenset(
    {"if", "when", "whenever", "unless", "should", "once", "in", "depending", "after", "before"}
)


def _cuts(words: Sequence[str]) -> set[int]:
    """Word indices after which a step comment may end: clause boundaries of the task.

    A boundary follows ``,`` ``;`` ``.`` ``:`` or precedes "then", "finally", ... (never right
    after "and"/"or"). Clauses that carry no step of their own are joined to a neighbour:
    a lead-in ending in a comma or colon ("after that,", "if the order ships abroad,") to the
    clause after it; a clause without content words ("if not, do nothing.") and a qualifier
    of how a step runs ("that step may be interrupted", "the last write wins") to the clause
    before it. Failure clauses stay: they are a step (``.on_error``).
    """
    n = len(words)
    bounds = []
    for k, word in enumerate(words[:-1]):
        stripped = word.rstrip(",;.:")
        boundary = word.endswith(_CUT_AFTER) or words[k + 1].rstrip(",") in _CUT_BEFORE
        if boundary and stripped not in ("and", "or"):
            bounds.append(k)
    # In a sentence about parallel work, commas list the members ("A, B and C in parallel"):
    # only a comma followed by a sequencing word ("then", "next", ...) ends a step there.
    sentence: list[int] = []
    for k in range(n):
        if k == 0 or words[k - 1].endswith((".", ";")):
            sentence.append(k)
    for begin, stop in zip(sentence, [*sentence[1:], n], strict=True):
        if "sync" in task_features(" ".join(words[begin:stop])):
            bounds = [
                k
                for k in bounds
                if not (begin <= k < stop - 1 and words[k].endswith(","))
                or words[k + 1].rstrip(",") in _SEQUENCING
            ]
    edges = [-1, *bounds, n - 1]
    # Pass 1: lead-ins join the clause after them.
    groups: list[tuple[int, int]] = []
    pending: int | None = None
    for i in range(len(edges) - 1):
        start, end = edges[i] + 1, edges[i + 1]
        start = pending if pending is not None else start
        clause = " ".join(words[start : end + 1])
        first = words[edges[i] + 1].rstrip(",:")
        lead_in = clause.endswith((",", ":")) and (
            not content_words(" ".join(words[edges[i] + 1 : end + 1])) or first in _LEAD_INS
        )
        if lead_in and end < n - 1:
            pending = start
            continue
        pending = None
        groups.append((start, end))
    # Pass 2: clauses without content words and qualifiers join the clause before them.
    merged: list[tuple[int, int]] = []
    for start, end in groups:
        clause = " ".join(words[start : end + 1])
        features = task_features(clause)
        empty = not content_words(clause)
        qualifier = bool(features & {"strategy", "interrupt"}) and "on_error" not in features
        if merged and (empty or qualifier):
            merged[-1] = (merged[-1][0], end)
        else:
            merged.append((start, end))
    return {end for _, end in merged[:-1]}


def anchors(task: str) -> bool:
    """Whether :func:`gbnf` anchors the step comments of ``task`` (it is short enough)."""
    return 0 < len(task.split()) <= ANCHOR_MAX_WORDS


@dataclass(frozen=True, slots=True)
class Resume:
    """Re-decode one step of an anchored answer.

    Keep ``prefix`` (the answer up to that step's method call, ending in ``"\\n    ."``), write
    the step as ``fix`` says, and continue the task from word ``next_word``. ``fix``:
    ``"method"`` (any method not in ``exclude``), ``"branches"`` (a ``.split`` whose branches
    start with other notes than ``exclude``'s ``"first:<note>"`` / ``"else:<note>"``), ``"more_notes"`` (a ``.sync`` of more notes
    than the count in ``exclude``), or the option the step lacked or should not have:
    ``"interrupt"``, ``"carry_on"``, ``"stop"``, ``"else"``, ``"no_else"``, ``"strategy"``;
    or ``"rename"``: the step again, with a name none of ``exclude`` (the earlier steps' names).
    """

    prefix: str
    next_word: int
    fix: str = "method"
    exclude: frozenset[str] = frozenset()


_OPTION_RULES = {
    "interrupt": '"then(" s-name ", " s-note ", can_interrupt=True)"',
    "carry_on": '"on_error(" s-handler ", stop=False)"',
    "stop": '"on_error(" s-handler ")"',
    "else": '"split(" s-name ", " s-condition ", " s-branch ", " s-branch ")"',
    "no_else": '"split(" s-name ", " s-condition ", " s-branch ")"',
    "strategy": '"sync(" s-name ", " s-notes ", " s-strategy ")"',
}


def _anchored_root(task: str, score_name: str, resume: Resume | None = None) -> list[str] | None:
    """Rules making the step comments quote ``task`` in order, every word exactly once.

    The comments, read top to bottom, spell out the task (lower-cased); a comment may end only
    at a clause boundary (:func:`_cuts`), each comment is followed by exactly one method call,
    and the cadence closes after the task's last word. Where the task is cut into steps, and
    which method each part becomes, stays the model's choice; inventing steps the task never
    mentions, dropping parts of it, or running on after its end is no longer possible.
    """
    words = task.lower().split()
    if not words or len(words) > ANCHOR_MAX_WORDS:
        return None
    n = len(words)
    cuts = _cuts(words)
    if resume is None:
        lines = [f'root ::= "(\\n    Cadence(" step-name ", {score_name})\\n    # " a0']
    elif resume.next_word >= n:
        lines = [f'root ::= {_lit(resume.prefix)} step-resume "\\n)"']
    else:
        lines = [f'root ::= {_lit(resume.prefix)} step-resume "\\n    # " a{resume.next_word}']
    for k, word in enumerate(words):
        stripped = word.rstrip(",;.:") or word
        if k == n - 1:
            lines.append(f'a{k} ::= {_lit(stripped)} "\\n    ." step "\\n)"')
            continue
        go_on = f"{_lit(word + ' ')} a{k + 1}"
        if k in cuts:
            cut = f'{_lit(stripped)} "\\n    ." step "\\n    # " a{k + 1}'
            lines.append(f"a{k} ::= {go_on} | {cut}")
        else:
            lines.append(f"a{k} ::= {go_on}")
    return lines


def _resume_rules(
    resume: Resume, methods: Sequence[Mapping[str, Any]], names: Names | None, max_more: int
) -> list[str]:
    if resume.fix in _OPTION_RULES:
        return [f"step-resume ::= {_OPTION_RULES[resume.fix]}"]
    if resume.fix == "rename":
        return []  # added at the end of gbnf(), from the method rules
    if resume.fix == "more_notes":
        # At least one note more than the answer had (``exclude`` holds that count).
        least = int(next(iter(resume.exclude), "1"))
        return [
            'step-resume ::= "sync(" s-name ", [" r-note (", " r-note){'
            + f"{least},{max(max_more, least)}"
            + '} "]" (", " s-strategy)? ")"'
        ]
    if resume.fix == "branches":
        # exclude: "first:<note>" / "else:<note>", notes tried first in either branch.
        notes = list((names or {}).get("note", ()))
        first = [n for n in notes if f"first:{n}" not in resume.exclude]
        other = [n for n in notes if f"else:{n}" not in resume.exclude]
        if not first or not other:
            raise ValueError("resume excludes every note")
        more = f'(", " r-note){{0,{max_more}}}'
        return [
            'step-resume ::= "split(" s-name ", " s-condition ", [" r-note-first '
            + more
            + ' "]" (", [" r-note-else '
            + more
            + ' "]")? ")"',
            "r-note-first ::= " + " | ".join(_lit(n) for n in first),
            "r-note-else ::= " + " | ".join(_lit(n) for n in other),
        ]
    if resume.fix != "method":
        raise ValueError(f"unknown resume fix {resume.fix!r}")
    others = [m for m in methods if m["name"] not in resume.exclude]
    if not others:
        raise ValueError("resume excludes every method")
    return ["step-resume ::= " + " | ".join(f"m-{m['name'].replace('_', '-')}" for m in others)]


def gbnf(
    data: Mapping[str, Any] | None = None,
    *,
    names: Names | None = None,
    task: str | None = None,
    resume: Resume | None = None,
) -> str:
    """A llama.cpp GBNF grammar for compositions (narrowed to ``names`` by role if given).

    With ``task``, the step comments must quote the task in order (see :func:`_anchored_root`);
    with ``resume`` as well, the grammar re-decodes one step of an earlier anchored answer.
    """
    data = data or spec()
    limits = data["limits"]
    methods = _available(data, names)
    anchored = (
        _anchored_root(task, data["score_name"], resume)
        if task and data.get("step_comments")
        else None
    )
    if resume is not None:
        if anchored is None:
            raise ValueError("resume needs a task short enough to anchor")
        anchored += _resume_rules(resume, methods, names, data["limits"]["max_list"] - 1)
    lines = [
        f"# cadence-prompts {PACK_VERSION} | GBNF for compositions, generated from the "
        "DSL table (python -m cadence_llm._derive --write); do not edit",
        *(
            anchored
            or [
                'root ::= "(\\n    Cadence(" step-name ", '
                + data["score_name"]
                + ')" ('
                + ('"\\n    # " comment ' if data.get("step_comments") else "")
                + '"\\n    ." step){1,'
                + str(limits["max_steps"])
                + '} "\\n)"'
            ]
        ),
        "step ::= " + " | ".join(f"m-{m['name'].replace('_', '-')}" for m in methods),
    ]
    shapes_used: set[str] = set()
    for m in methods:
        parts = [_lit(m["name"] + "(")]
        for i, p in enumerate(m["params"]):
            shapes_used.add(p["shape"])
            sep = "" if i == 0 else ", "
            keyword = p["keyword_only"] or p["shape"] == "bool"
            piece = _lit(sep + (p["name"] + "=" if keyword else "")) + " " + f"s-{p['shape']}"
            if sep == "" and not keyword:
                piece = f"s-{p['shape']}"
            parts.append(piece if p["required"] else f"({piece})?")
        parts.append(_lit(")"))
        lines.append(f"m-{m['name'].replace('_', '-')} ::= " + " ".join(parts))
    max_more = limits["max_list"] - 1
    shape_rules = {
        "name": "s-name ::= step-name",
        "note": "s-note ::= r-note",
        "notes": f's-notes ::= "[" r-note (", " r-note){{0,{max_more}}} "]"',
        "branch": f's-branch ::= "[" r-note (", " r-note){{0,{max_more}}} "]"',
        "condition": "s-condition ::= r-condition",
        "merge": "s-merge ::= r-merge",
        "handler": "s-handler ::= r-handler",
        "cadence": "s-cadence ::= r-cadence",
        "factory": "s-factory ::= r-factory",
        "strategy": "s-strategy ::= " + " | ".join(_lit(_lit(s)) for s in data["merge_strategies"]),
        "bool": 's-bool ::= "True" | "False"',
        "items": "s-items ::= field-name",
        "field": "s-field ::= field-name",
        "count": "s-count ::= [1-9] [0-9]{0,5}",
        "policy": "s-policy ::= " + " | ".join(_lit(_lit(p)) for p in data["map_policies"]),
    }
    for shape in sorted(shapes_used):
        lines.append(shape_rules[shape])
    step_name_max = limits["max_step_name"] - 1
    lines.append(f'step-name ::= "\\"" [a-z] [a-z0-9_]{{0,{step_name_max}}} "\\""')
    if shapes_used & {"items", "field"}:
        lines.append('field-name ::= "\\"" [a-z] [a-z0-9_]{0,31} "\\""')
    roles = sorted({SHAPE_ROLE[s] for s in shapes_used if s in SHAPE_ROLE})
    for role in roles:
        if names is None:
            lines.append(f"r-{role} ::= ident")
        else:
            lines.append(f"r-{role} ::= " + " | ".join(_lit(n) for n in names[role]))
    if names is None:
        lines.append("ident ::= [a-zA-Z_] [a-zA-Z0-9_]{0,63}")
    if data.get("step_comments") and anchored is None:
        # A comment is inert (the parser drops it); it lets the model restate the task's step.
        lines.append("comment ::= [^\\n]{1,160}")
    if resume is not None and resume.fix == "rename":
        # The same step with a name none of the earlier steps has (any method).
        fresh = [
            line.split(" ::= ")[0]
            + "-fresh ::= "
            + line.split(" ::= ", 1)[1].replace("s-name", "s-fresh")
            for line in lines
            if line.startswith("m-")
        ]
        lines += fresh
        lines.append("step-resume ::= " + " | ".join(rule.split(" ::= ")[0] for rule in fresh))
        lines += _fresh_name_rules(resume.exclude, step_name_max // 2)
    return "\n".join(lines) + "\n"


def _fresh_name_rules(taken: frozenset[str], more: int) -> list[str]:
    """``s-fresh``: a quoted step name (``[a-z][a-z0-9_]*``) that is none of ``taken``.

    Built on the trie of ``taken``: at each node the name may end (unless the prefix itself is
    taken), go on along the trie, or leave it with any other character and then go on freely.
    """
    trie: dict[str, Any] = {}
    for name in taken:
        node = trie
        for ch in name:
            node = node.setdefault(ch, {})
        node[""] = {}
    rules: list[str] = []
    first = "abcdefghijklmnopqrstuvwxyz"
    rest = first + "0123456789_"

    def walk(node: dict[str, Any], rule: str, alphabet: str) -> None:
        alts = []
        for ch in sorted(k for k in node if k):
            child = f"{rule}-{ord(ch)}"
            alts.append(f"{_lit(ch)} {child}")
            walk(node[ch], child, rest)
        others = "".join(c for c in alphabet if c not in node)
        if others:
            alts.append(f"[{others}] fresh-free")
        body = " | ".join(alts)
        # A taken name must go on, and so must the empty start; any other prefix may end.
        if "" in node or rule == "fresh-0":
            rules.append(f"{rule} ::= {body}")
        else:
            rules.append(f"{rule} ::= ({body})?")

    walk(trie, "fresh-0", first)
    return [
        's-fresh ::= "\\"" fresh-0 "\\""',
        *rules,
        f"fresh-free ::= [a-z0-9_]{{0,{more}}}",
    ]


def _value_schema(shape: str, data: Mapping[str, Any], names: Names | None) -> dict[str, Any]:
    limits = data["limits"]
    role = SHAPE_ROLE.get(shape)
    ref: dict[str, Any] = {"type": "string"}
    if role is not None and names is not None:
        ref = {"type": "string", "enum": list(names[role])}
    if shape in ("notes", "branch"):
        return {"type": "array", "items": ref, "minItems": 1, "maxItems": limits["max_list"]}
    if role is not None:
        return ref
    if shape == "name":
        return {"type": "string", "pattern": "^[a-z][a-z0-9_]*$"}
    if shape == "strategy":
        return {"type": "string", "enum": list(data["merge_strategies"])}
    if shape == "bool":
        return {"type": "boolean"}
    if shape in ("items", "field"):
        return {"type": "string", "pattern": "^[a-z][a-z0-9_]*$"}
    if shape == "count":
        return {"type": "integer", "minimum": 1, "maximum": 1_000_000}
    if shape == "policy":
        return {"type": "string", "enum": list(data["map_policies"])}
    raise ValueError(f"the DSL table uses the shape {shape!r}, which the plan schema does not know")


def plan_schema(
    data: Mapping[str, Any] | None = None, *, names: Names | None = None
) -> dict[str, Any]:
    """A JSON schema of a cadence plan: ``{"name", "steps": [{"method", ...params}]}``."""
    data = data or spec()
    variants = []
    for m in _available(data, names):
        props: dict[str, Any] = {"method": {"const": m["name"]}}
        for p in m["params"]:
            props[p["name"]] = _value_schema(p["shape"], data, names)
        variants.append(
            {
                "type": "object",
                "properties": props,
                "required": ["method"] + [p["name"] for p in m["params"] if p["required"]],
                "additionalProperties": False,
            }
        )
    return {
        "$comment": f"cadence-prompts {PACK_VERSION} | JSON schema of a cadence plan, generated "
        "from the DSL table (python -m cadence_llm._derive --write); do not edit",
        "title": "CadencePlan",
        "type": "object",
        "properties": {
            "name": {"type": "string", "pattern": "^[a-z][a-z0-9_]*$"},
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


def _ref_text(value: Any) -> str:
    # A name that is not an identifier is written as a string literal, which the validator
    # rejects with a clear message: plan values can never smuggle code into the text.
    if isinstance(value, str) and value.isidentifier() and not value.startswith("__"):
        return value
    return json.dumps(value if isinstance(value, str) else str(value))


def _arg_text(shape: str, value: Any) -> str:
    if shape in ("notes", "branch"):
        items = value if isinstance(value, list) else [value]
        return "[" + ", ".join(_ref_text(v) for v in items) + "]"
    if shape in ("name", "strategy", "items", "field", "policy"):
        return json.dumps(value if isinstance(value, str) else str(value))
    if shape == "count":
        return str(value) if isinstance(value, int) and not isinstance(value, bool) else "0"
    if shape == "bool":
        return "True" if value is True else "False" if value is False else json.dumps(str(value))
    return _ref_text(value)


def plan_to_source(plan: Any, data: Mapping[str, Any] | None = None) -> str:
    """Render a JSON plan as composition text (which then goes through the validator).

    Raises:
        ValueError: When ``plan`` is not shaped like a plan at all.
    """
    data = data or spec()
    if not isinstance(plan, Mapping) or not isinstance(plan.get("steps"), list):
        raise ValueError('a plan is an object {"name": ..., "steps": [...]}')
    methods = {m["name"]: m for m in data["methods"]}
    lines = [
        f"    Cadence({json.dumps(str(plan.get('name') or 'generated'))}, {data['score_name']})"
    ]
    for step in plan["steps"]:
        if not isinstance(step, Mapping):
            raise ValueError("each plan step is an object with a 'method'")
        name = str(step.get("method", ""))
        method = methods.get(name)
        if method is None:
            # Keep the unknown method so the validator names it and suggests the right one.
            lines.append(f"    .{name if name.isidentifier() else 'unknown'}()")
            continue
        args: list[str] = []
        for p in method["params"]:
            if p["name"] not in step:
                continue
            text = _arg_text(p["shape"], step[p["name"]])
            keyword = p["keyword_only"] or p["shape"] == "bool" or len(args) < _position(method, p)
            args.append(f"{p['name']}={text}" if keyword else text)
        lines.append(f"    .{name}({', '.join(args)})")
    return "(\n" + "\n".join(lines) + "\n)"


def _position(method: Mapping[str, Any], param: Mapping[str, Any]) -> int:
    return [p["name"] for p in method["params"]].index(param["name"])


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
        "plan.schema.json": json.dumps(plan_schema(data), indent=2) + "\n",
    }


DERIVED: tuple[str, ...] = ("grammar.md", "cadence.gbnf", "plan.schema.json")


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
