"""Pull the composition out of a model's answer, without changing what it means.

Models wrap code in Markdown fences, add a sentence before it, import ``Cadence`` out of habit,
or break a chain over lines without the parentheses Python needs. These are formatting slips,
not wrong programs, so they are undone here on the *text* (nothing is executed); everything
else is left for the validator to judge and the model to repair.
"""

from __future__ import annotations

import json
import re
from typing import Any

__all__ = ["extract_code", "extract_json", "extract_module"]

_FENCE = re.compile(r"```[ \t]*([A-Za-z0-9_+-]*)[ \t]*\n(.*?)(?:```|\Z)", re.DOTALL)
# Only imports of cadence itself are dropped: any other import stays and is rejected.
_CADENCE_IMPORT = re.compile(
    r"^\s*(from\s+cadence(\.\w+)*\s+import\s+[\w\s,()]+|import\s+cadence)\s*$"
)


# A line that starts code (anything before the first such line is prose).
_CODE_START = re.compile(r"^(\(|Cadence\(|[A-Za-z_]\w*\s*=|import\s|from\s|\.\w)")


def _fenced(text: str) -> str | None:
    blocks = _FENCE.findall(text)
    for lang, body in blocks:
        if lang.lower() in ("python", "py", ""):
            return str(body)
    return str(blocks[0][1]) if blocks else None


def _wrap_continuations(code: str) -> str:
    """``Cadence(...)`` followed by lines starting with ``.``: add the enclosing parentheses."""
    lines = [ln for ln in code.split("\n") if ln.strip()]
    if len(lines) < 2 or lines[0].rstrip().endswith("("):
        return code
    rest = lines[1:]
    if not all(ln.lstrip().startswith((".", "#")) for ln in rest):
        return code
    head = lines[0].strip()
    target, sep, expr = head.partition("=")
    if sep and target.strip().isidentifier() and not expr.startswith("="):
        prefix, head = f"{target.strip()} = ", expr.strip()
    else:
        prefix = ""
    body = "\n".join("    " + ln.strip() for ln in [head, *rest])
    return f"{prefix}(\n{body}\n)"


def extract_code(text: str) -> str:
    """The composition in a free-text answer (fences, cadence imports and chatter removed)."""
    code = _fenced(text)
    if code is None:
        lines = text.split("\n")
        first = next((i for i, ln in enumerate(lines) if _CODE_START.match(ln.strip())), 0)
        code = "\n".join(lines[first:])
    kept = [ln for ln in code.split("\n") if not _CADENCE_IMPORT.match(ln)]
    code = "\n".join(kept).strip()
    return _wrap_continuations(code)


def extract_json(text: str) -> Any:
    """The JSON value in an answer (fenced or bare).

    Raises:
        ValueError: No JSON value could be read.
    """
    body = _fenced(text)
    candidate = (body if body is not None else text).strip()
    if not candidate.startswith(("{", "[")):
        start = candidate.find("{")
        candidate = candidate[start:] if start >= 0 else candidate
    try:
        return json.loads(candidate)
    except json.JSONDecodeError as exc:
        raise ValueError(f"the answer is not valid JSON: {exc.msg} at line {exc.lineno}") from None
    except RecursionError:  # "[[[[..." from a model that loops: an answer, not a crash
        raise ValueError("the answer is not a plan: its JSON nests far too deeply") from None


def extract_module(text: str) -> str:
    """A whole module from an answer: the first code block, else the whole text."""
    code = _fenced(text)
    return (code if code is not None else text).strip() + "\n"
