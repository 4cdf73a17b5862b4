"""Count the lines of English heuristics in code generation, before this design and now.

``python -m evals.heuristic_lines`` prints both counts (the "before" side is read from git at
:data:`BEFORE`, the last commit with the clause-cutting design). A line counts when it is code
(not blank, a comment or a docstring) in a definition that reads task words through an
English word list: the word lists themselves, and the checks and re-decoding built on them.
"""

from __future__ import annotations

import ast
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
#: The last commit before the plan-based design (issue 16).
BEFORE = "608889e"

#: (file, top-level names or None for the whole file) that hold English heuristics.
BEFORE_PARTS = [
    ("cadence_llm/_grounding.py", None),
    ("cadence_llm/_prompts.py", {"STOPWORDS", "_WORD", "content_words", "_cues", "task_features"}),
    ("cadence_llm/_derive.py", {"_CUT_AFTER", "_CUT_BEFORE", "_SEQUENCING", "_LEAD_INS", "_cuts"}),
    ("cadence_llm/codegen.py", {"_resume"}),
]
AFTER_PARTS = [
    ("cadence_llm/_wording.py", None),
    ("cadence_llm/_grounding.py", None),
    ("cadence_llm/codegen.py", {"_redecode"}),
]


def code_lines(source: str, names: set[str] | None = None) -> int:
    """Lines of code in ``source`` (in the top-level definitions ``names``, if given)."""
    tree = ast.parse(source)
    docs: set[int] = set()
    for node in ast.walk(tree):
        body = getattr(node, "body", None)
        if isinstance(node, ast.Module | ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            first = body[0] if body else None
            if isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant):
                docs |= set(range(first.lineno, (first.end_lineno or first.lineno) + 1))
    keep: set[int] | None = None
    if names is not None:
        keep = set()
        for node in tree.body:
            target = getattr(node, "name", None)
            if isinstance(node, ast.Assign) and isinstance(node.targets[0], ast.Name):
                target = node.targets[0].id
            elif isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name):
                target = node.target.id
            if target in names:
                keep |= set(range(node.lineno, (node.end_lineno or node.lineno) + 1))
    count = 0
    for number, line in enumerate(source.split("\n"), 1):
        text = line.strip()
        if not text or text.startswith("#") or number in docs:
            continue
        if keep is None or number in keep:
            count += 1
    return count


def _read(path: str, rev: str | None) -> str:
    if rev is None:
        return (ROOT / path).read_text(encoding="utf-8")
    return subprocess.run(
        ["git", "show", f"{rev}:{path}"], capture_output=True, text=True, check=True, cwd=ROOT
    ).stdout


def _cue_lines(rev: str) -> int:
    """The cue table that ``prompts/examples.json`` held before it moved to ``_wording.py``."""
    text = _read("prompts/examples.json", rev)
    return text[text.index('"cues"') : text.index('"examples"')].count("\n")


def main() -> None:
    """Print the counts per part and in total."""
    before = {
        f"{p} {sorted(n) if n else ''}".strip(): code_lines(_read(p, BEFORE), n)
        for p, n in BEFORE_PARTS
    }
    before["prompts/examples.json cues"] = _cue_lines(BEFORE)
    after = {
        f"{p} {sorted(n) if n else ''}".strip(): code_lines(_read(p, None), n)
        for p, n in AFTER_PARTS
    }
    for label, parts in (("before", before), ("now", after)):
        print(f"{label}: {sum(parts.values())} lines")
        for name, n in parts.items():
            print(f"  {n:4d}  {name}")


if __name__ == "__main__":
    main()
