"""The prompt pack: find it, read it, and render its parts for one task.

The pack lives in ``prompts/`` at the repository root and ships inside the wheel as
``cadence_llm/prompts``. Every file starts with a ``cadence-prompts <version>`` header so a pack
can be told apart from an older one; :func:`read` strips that header before a model sees it.
The composition grammar comes from the builder's table (``cadence.validate.GRAMMAR``) and
``dsl.json`` adds the prompt settings; the derived files are produced
by :mod:`cadence_llm._derive`.
"""

from __future__ import annotations

import functools
import json
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from cadence.exceptions import CadenceError
from cadence_llm._wording import features

__all__ = [
    "PACK_VERSION",
    "PromptPackError",
    "answer_features",
    "composition_features",
    "examples",
    "grammar_text",
    "pack_dir",
    "plan_text",
    "read",
    "read_raw",
    "select_examples",
    "spec",
    "task_features",
]

PACK_VERSION = "2"
HEADER = re.compile(r"cadence-prompts (\d+)")


class PromptPackError(CadenceError):
    """The prompt pack is missing, or a file in it has no or the wrong version header."""

    default_code = "PROMPT_PACK"


def pack_dir() -> Path:
    """The pack's folder: inside the installed wheel, else the repository's ``prompts/``."""
    here = Path(__file__).resolve().parent
    for candidate in (here / "prompts", here.parent / "prompts"):
        if (candidate / "dsl.json").is_file():
            return candidate
    raise PromptPackError(
        "the cadence prompt pack (prompts/dsl.json) was not found next to cadence_llm; "
        "reinstall with pip install 'cadence-orchestration[llm]'"
    )


def read_raw(name: str) -> str:
    """A pack file's full text, header included, after checking the header's version."""
    path = pack_dir() / name
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise PromptPackError(
            f"the prompt pack has no file {name!r} (looked in {path.parent})"
        ) from None
    # Text files carry the header on line 1; JSON files in their "$comment" on line 2.
    first = "\n".join(text.split("\n", 2)[:2])
    found = HEADER.search(first)
    if found is None or found.group(1) != PACK_VERSION:
        raise PromptPackError(
            f"prompts/{name} must start with a 'cadence-prompts {PACK_VERSION}' header, "
            f"found {first[:80]!r}"
        )
    return text


@functools.cache
def read(name: str) -> str:
    """A text file of the pack without its header line (what a model is shown)."""
    text = read_raw(name)
    if name.endswith(".json"):
        return text
    return text.split("\n", 1)[1] if "\n" in text else ""


@functools.cache
def _json(name: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(read_raw(name))
    if data.get("version") != PACK_VERSION:
        raise PromptPackError(
            f"prompts/{name} has version {data.get('version')!r}, expected {PACK_VERSION!r}"
        )
    return data


@functools.cache
def spec() -> dict[str, Any]:
    """The DSL as the pack shows it to models: the builder's table (``cadence.validate.GRAMMAR``)
    laid out as the pack's files use it, plus the prompt settings of ``dsl.json``."""
    from cadence.validate import GRAMMAR

    def params(items: Any) -> list[dict[str, Any]]:
        return [{k: p[k] for k in ("name", "shape", "required", "keyword_only")} for p in items]

    ctor = GRAMMAR["constructor"]
    return {
        **_json("dsl.json"),
        "constructor": {"name": ctor["name"], "params": params(ctor["params"]), "doc": ctor["doc"]},
        "methods": [
            {"name": name, "params": params(m["params"]), "doc": m["doc"], "example": m["example"]}
            for name, m in GRAMMAR["methods"].items()
        ],
        "merge_strategies": list(GRAMMAR["merge_strategies"]),
        "map_policies": list(GRAMMAR["map_policies"]),
        "shapes": {name: shape["doc"] for name, shape in GRAMMAR["shapes"].items()},
    }


def examples() -> list[dict[str, Any]]:
    """The worked examples (``examples.json``): task, score, registry and answer."""
    return list(_json("examples.json")["examples"])


def task_features(task: str) -> frozenset[str]:
    """The structures whose cue phrases ``task`` contains (see :func:`cadence_llm._wording
    .features`; no cue means "unknown")."""
    return features(task)


def composition_features(comp: Any) -> frozenset[str]:
    """The structures an accepted composition uses (the names :func:`task_features` returns)."""
    found: set[str] = set()
    for step in comp.steps:
        args = step.args
        if step.method in ("sync", "split", "child", "on_error"):
            found.add(step.method)
        if step.method == "sync" and args.get("merge_strategy"):
            found.add("strategy")
        if step.method == "split" and args.get("if_false"):
            found.add("else")
        if step.method == "on_error" and args.get("stop") is False:
            found.add("carry_on")
        if args.get("can_interrupt"):
            found.add("interrupt")
    return frozenset(found)


@functools.cache
def answer_features(answer: str) -> frozenset[str]:
    """The structures a worked answer uses (see :func:`composition_features`)."""
    from cadence.validate import parse_composition

    comp, _ = parse_composition(answer, None)
    if comp is None:
        raise PromptPackError(f"a worked example's answer is not a composition: {answer[:60]!r}")
    return composition_features(comp)


def select_examples(task: str, k: int = 3) -> list[dict[str, Any]]:
    """The ``k`` worked examples whose structures are closest to what ``task`` asks for.

    Small models copy the shape of the examples they are shown far more reliably than they
    follow rules, so each task is shown the examples that use the structures its wording
    has cues for (shared features count twice, other structures count against an example).
    The closest example comes last, nearest the task. Without any cue this is a fixed choice
    of the plainest examples; the choice only orders advice, it never limits the answer.
    """
    if k <= 0:
        return []
    wanted = task_features(task)
    scored = []
    for i, ex in enumerate(examples()):
        has = answer_features(ex["answer"])
        score = 2 * len(has & wanted) - len(has - wanted) - 0.5 * len(wanted - has)
        scored.append((score, -i, ex))
    scored.sort(key=lambda t: (t[0], t[1]), reverse=True)
    return [ex for _, _, ex in reversed(scored[:k])]


def _placeholder(shape: str) -> str:
    from cadence.validate import GRAMMAR

    known = GRAMMAR["shapes"].get(shape)
    return str(known["placeholder"]) if known else shape


def signature(method: Mapping[str, Any]) -> str:
    """``.sync("step", [note, ...][, "last_write_wins"])``: a method as a model should write it."""
    out = ""
    for i, p in enumerate(method["params"]):
        sep = "" if i == 0 else ", "
        value = _placeholder(p["shape"])
        arg = f"{p['name']}={value}" if p["keyword_only"] or p["shape"] == "bool" else value
        out += sep + arg if p["required"] else f"[{sep}{arg}]"
    return f".{method['name']}({out})"


def plan_text(data: Mapping[str, Any] | None = None) -> str:
    """The plan's step kinds as shown to models, derived from ``dsl.json``."""
    data = data or spec()
    lines = ["Kinds (optional keys in brackets):"]
    for m in data["methods"]:
        keys = []
        for p in m["params"]:
            if p["shape"] == "name":
                continue
            key = f'"{p["name"]}": {_plan_placeholder(p["shape"])}'
            keys.append(key if p["required"] else f"[{key}]")
        lines.append(f'- "{m["name"]}": ' + ", ".join(keys) + f". {m['doc']}")
    lines.append(
        '- "remark": no keys. Words of the task that are no action (a lead-in, context, a '
        "reason, an aside): nothing runs."
    )
    strategies = ", ".join(f'"{s}"' for s in data["merge_strategies"])
    lines.append(f"A strategy is one of {strategies}; every other value is a registry name.")
    return "\n".join(lines) + "\n"


def _plan_placeholder(shape: str) -> str:
    """A placeholder as JSON spells it (the composition's, with names quoted)."""
    if shape == "bool":
        return "true|false"
    if shape == "notes":
        return '["note", "note", ...]'
    text = _placeholder(shape)
    if text.startswith("["):
        return text.replace("note", '"note"')
    return text if text.startswith('"') else f'"{text}"'


def grammar_text(data: Mapping[str, Any] | None = None) -> str:
    """The grammar as shown to models, derived from :func:`spec`."""
    data = data or spec()
    ctor = data["constructor"]
    lines = [
        "Grammar (the whole language):",
        f'{ctor["name"]}("name", {data["score_name"]})  {ctor["doc"]}',
    ]
    for m in data["methods"]:
        lines.append(f"{signature(m)}  {m['doc']} Example: {m['example']}")
    if data.get("step_comments"):
        lines.append("Before each method call: a # comment quoting the part of the task it does.")
    lines.append("Merge strategies: " + ", ".join(f'"{s}"' for s in data["merge_strategies"]) + ".")
    lines.append("Arguments:")
    used = {p["shape"] for m in data["methods"] for p in m["params"]}
    for shape, text in data["shapes"].items():
        if shape in used:
            lines.append(f"- {_placeholder(shape)}: {text}")
    return "\n".join(lines) + "\n"
