"""Project and file templates for ``cadence init`` and ``cadence new`` (used by the CLI only).

Every template is checked by ``cadence.validate`` in the tests, so what the CLI writes is
code the validator accepts and the test runner runs.
"""

from __future__ import annotations

import json
import keyword
import re
from pathlib import Path

__all__ = [
    "ScaffoldError",
    "cadence_file",
    "identifier",
    "init_project",
    "note_file",
    "write_files",
]


class ScaffoldError(Exception):
    """A scaffolding request cannot be carried out; the message says how to fix it."""


def identifier(name: str, *, what: str = "name") -> str:
    """``"process-payment"`` -> ``"process_payment"``; refuse what cannot become a Python name."""
    ident = re.sub(r"[-\s.]+", "_", name.strip()).lower()
    if not ident.isidentifier() or keyword.iskeyword(ident):
        raise ScaffoldError(
            f"{name!r} is not a valid {what} (fix: use letters, digits, '-' or '_', starting with a letter)"
        )
    return ident


def _camel(ident: str) -> str:
    return "".join(part.capitalize() for part in ident.split("_") if part) or "My"


def write_files(root: Path, files: dict[str, str], *, force: bool) -> list[Path]:
    """Write ``files`` under ``root``; refuse to overwrite unless ``force``."""
    targets = [root / rel for rel in files]
    existing = [t for t in targets if t.exists()]
    if existing and not force:
        raise ScaffoldError(
            f"{existing[0]} already exists (fix: choose another name or pass --force)"
        )
    for target, text in zip(targets, files.values(), strict=True):
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text, encoding="utf-8")
    return targets


def cadence_file(name: str) -> tuple[str, str]:
    """A module with a score, three notes and a cadence called ``name``; returns (file, text)."""
    ident = identifier(name, what="cadence name")
    cls = _camel(ident) + "Score"
    text = f'''"""The {ident} cadence."""

from dataclasses import dataclass, field

from cadence import Cadence, Score, note


@dataclass
class {cls}(Score):
    """What the {ident} cadence reads and writes."""

    request_id: str = ""
    items: list = field(default_factory=list)
    status: str = "pending"


@note
async def validate(score: {cls}) -> None:
    """Check the input before doing any work."""
    if not score.request_id:
        score.status = "invalid"


@note(retry=3, timeout=10.0)
async def process(score: {cls}) -> None:
    """Do the main work (retried, with a timeout per attempt)."""
    score.items.append(f"processed {{score.request_id}}")


@note
async def finalize(score: {cls}) -> None:
    """Record the outcome."""
    if score.status == "pending":
        score.status = "done"


{ident} = (
    Cadence("{ident}", {cls}(request_id="example"))
    .then("validate", validate)
    .then("process", process)
    .then("finalize", finalize)
)
'''
    return f"{ident}.py", text


def note_file(
    name: str,
    *,
    retry: int | None = None,
    timeout: float | None = None,
    fallback: str | None = None,
) -> tuple[str, str]:
    """A module with one ``@note``, with the given resilience options; returns (file, text)."""
    ident = identifier(name, what="note name")
    options: list[str] = []
    if retry is not None:
        options.append(f"retry={retry}")
    if timeout is not None:
        options.append(f"timeout={timeout!r}")
    if fallback is not None:
        try:
            value = json.loads(fallback)
        except json.JSONDecodeError:
            value = fallback
        shown = json.dumps(value) if isinstance(value, str) else repr(value)
        options.append(f'fallback={{"default": {shown}, "field": "result"}}')
    decorator = f"@note({', '.join(options)})" if options else "@note"
    text = f'''"""The {ident} note."""

from dataclasses import dataclass
from typing import Any

from cadence import Score, note


@dataclass
class {_camel(ident)}Score(Score):
    """The fields {ident} reads and writes (merge these into your own score)."""

    result: Any = None


{decorator}
async def {ident}(score: {_camel(ident)}Score) -> None:
    """Describe what {ident} does."""
    score.result = "ok"
'''
    return f"{ident}.py", text


def init_project(name: str) -> dict[str, str]:
    """The files of a new runnable project called ``name`` (a package, a cadence, a test)."""
    pkg = identifier(name, what="project name")
    dist = re.sub(r"[_\s]+", "-", name.strip()).lower()
    return {
        "pyproject.toml": f'''[project]
name = "{dist}"
version = "0.1.0"
requires-python = ">=3.11"
dependencies = ["cadence-orchestration"]

[tool.setuptools]
packages = ["{pkg}"]
''',
        "README.md": f"""# {dist}

```console
cadence validate {pkg}.cadences
cadence run {pkg}.cadences:pipeline --score '{{"text": "hello world"}}'
cadence diagram {pkg}.cadences:pipeline --format text
python -m pytest
```
""",
        f"{pkg}/__init__.py": f'"""The {dist} project."""\n',
        f"{pkg}/cadences.py": '''"""A sample cadence: clean the text, count words and characters at once, then summarise."""

from dataclasses import dataclass

from cadence import Cadence, Score, note


@dataclass
class TextScore(Score):
    """The text and what the cadence learns about it."""

    text: str = ""
    words: int = 0
    chars: int = 0
    summary: str = ""


@note
async def clean(score: TextScore) -> None:
    """Normalise whitespace."""
    score.text = " ".join(score.text.split())


@note
async def count_words(score: TextScore) -> None:
    """Count the words."""
    score.words = len(score.text.split())


@note
async def count_chars(score: TextScore) -> None:
    """Count the characters."""
    score.chars = len(score.text)


@note(timeout=5.0)
async def summarise(score: TextScore) -> None:
    """Write a one-line summary."""
    score.summary = f"{score.words} words, {score.chars} characters"


pipeline = (
    Cadence("pipeline", TextScore(text="hello   cadence"))
    .then("clean", clean)
    .sync("count", [count_words, count_chars])
    .then("summarise", summarise)
)
''',
        "tests/test_cadences.py": f'''"""Tests for the sample cadence."""

import asyncio

from {pkg}.cadences import TextScore, pipeline


def test_pipeline_summarises_text() -> None:
    """The pipeline counts words and characters of the cleaned text."""
    result = asyncio.run(pipeline.run(TextScore(text="  a  b c ")))
    assert result.summary == "3 words, 5 characters"
''',
    }
