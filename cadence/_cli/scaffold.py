"""Project and file templates for ``cadence init`` and ``cadence new`` (used by the CLI only).

The layout and names are cadence-orchestration 0.7.2's, so its projects, docs and tests keep
matching: ``init`` makes the packages ``cadences/`` and ``notes/`` and a ``tests/`` folder,
``new cadence checkout`` writes ``cadences/checkout.py`` defining ``checkout_cadence``, and
``new note`` writes into ``notes/``. Every template is checked by ``cadence.validate`` in the
tests, so what the CLI writes is code the validator accepts and the test runner runs.
"""

from __future__ import annotations

import json
import keyword
import re
from pathlib import Path

__all__ = [
    "CADENCES_DIR",
    "NOTES_DIR",
    "ScaffoldError",
    "cadence_file",
    "identifier",
    "init_project",
    "note_file",
    "project_name",
    "write_files",
]

#: Where ``new cadence`` and ``new note`` write unless ``-o`` says otherwise (0.7.2's folders).
CADENCES_DIR = "cadences"
NOTES_DIR = "notes"

# A distribution name pip accepts (PEP 508), e.g. ``shop``, ``my_shop``, ``shop-2``.
_PROJECT_NAME = re.compile(r"[A-Za-z0-9]([A-Za-z0-9._-]*[A-Za-z0-9])?")


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


def write_files(
    root: Path, files: dict[str, str], *, force: bool, keep_existing: bool = False
) -> tuple[list[Path], list[Path]]:
    """Write ``files`` under ``root``; returns (written, kept).

    An existing file is overwritten only with ``force``; otherwise it is kept when
    ``keep_existing`` (``init`` in a directory that already has some of the files, as 0.7.2
    allowed) and refused when not (``new``, which writes one file).
    """
    targets = dict(zip((root / rel for rel in files), files.values(), strict=True))
    existing = [t for t in targets if t.exists()]
    if existing and not force and not keep_existing:
        raise ScaffoldError(
            f"{existing[0]} already exists (fix: choose another name or pass --force)"
        )
    folder = next((t for t in existing if t.is_dir()), None)
    if folder is not None:
        raise ScaffoldError(f"{folder} is a folder (fix: move it away, or write elsewhere with -o)")
    kept = [] if force else existing
    for target, text in targets.items():
        if target in kept:
            continue
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text, encoding="utf-8")
    return [t for t in targets if t not in kept], kept


def cadence_file(name: str) -> tuple[str, str, str, str]:
    """A module with a score, three notes and a cadence for ``name``.

    Returns (file name, text, cadence variable, score class): as in 0.7.2, ``check-out``
    gives ``check_out.py`` defining ``check_out_cadence`` (the cadence is named ``check_out``)
    and ``CheckOutScore``.
    """
    ident = identifier(name, what="cadence name")
    cls = _camel(ident) + "Score"
    var = f"{ident}_cadence"
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


{var} = (
    Cadence("{ident}", {cls}(request_id="example"))
    .then("validate", validate)
    .then("process", process)
    .then("finalize", finalize)
)

__all__ = ["{cls}", "{var}"]
'''
    return f"{ident}.py", text, var, cls


def note_file(
    name: str,
    *,
    retry: int | None = None,
    timeout: float | None = None,
    fallback: str | None = None,
) -> tuple[str, str]:
    """A module with one ``@note``, with the given resilience options; returns (file, text).

    As in 0.7.2, an option that is empty (``retry=0``, ``timeout=0``, ``fallback=""``) is left
    out: no retry, no timeout, no fallback.
    """
    ident = identifier(name, what="note name")
    options: list[str] = []
    if retry:
        options.append(f"retry={retry}")
    if timeout:
        options.append(f"timeout={timeout!r}")
    if fallback:
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


__all__ = ["{ident}"]
'''
    return f"{ident}.py", text


def project_name(name: str) -> str:
    """The ``[project] name`` for ``name`` (spaces become ``-``); refuse one pip would refuse."""
    dist = re.sub(r"\s+", "-", name.strip())
    if not _PROJECT_NAME.fullmatch(dist):
        raise ScaffoldError(
            f"{name!r} is not a valid project name "
            "(fix: use letters, digits, '-', '_' or '.', e.g. --name my-shop)"
        )
    return dist


def init_project(name: str) -> dict[str, str]:
    """The files of a new runnable project called ``name``, in 0.7.2's layout.

    ``cadences/`` (a package whose ``__init__`` holds the sample cadence ``sample_cadence``),
    ``notes/`` (a package for ``new note``), ``tests/`` with a test that passes, a
    ``pyproject.toml`` naming the project and a ``README.md`` with the commands to try.
    """
    dist = project_name(name)
    return {
        "pyproject.toml": f'''[build-system]
requires = ["setuptools>=61"]
build-backend = "setuptools.build_meta"

[project]
name = "{dist}"
version = "0.1.0"
requires-python = ">=3.11"
dependencies = ["cadence-orchestration"]

[project.optional-dependencies]
dev = ["pytest>=8.0"]

[tool.setuptools]
packages = ["{CADENCES_DIR}", "{NOTES_DIR}"]

[tool.pytest.ini_options]
testpaths = ["tests"]
''',
        "README.md": f"""# {dist}

```console
cadence validate {CADENCES_DIR}
cadence run {CADENCES_DIR}:sample_cadence --score '{{"text": "hello world"}}'
cadence diagram {CADENCES_DIR}:sample_cadence --format text
cadence new cadence checkout      # writes {CADENCES_DIR}/checkout.py (checkout_cadence)
cadence new note charge-card      # writes {NOTES_DIR}/charge_card.py
python -m pytest
```
""",
        f"{CADENCES_DIR}/__init__.py": '''"""The cadences of this project; the sample cleans a text, counts it, then summarises."""

from dataclasses import dataclass

from cadence import Cadence, Score, note


@dataclass
class SampleScore(Score):
    """The text and what the cadence learns about it."""

    text: str = ""
    words: int = 0
    chars: int = 0
    summary: str = ""


@note
async def clean(score: SampleScore) -> None:
    """Normalise whitespace."""
    score.text = " ".join(score.text.split())


@note
async def count_words(score: SampleScore) -> None:
    """Count the words."""
    score.words = len(score.text.split())


@note
async def count_chars(score: SampleScore) -> None:
    """Count the characters."""
    score.chars = len(score.text)


@note(timeout=5.0)
async def summarise(score: SampleScore) -> None:
    """Write a one-line summary."""
    score.summary = f"{score.words} words, {score.chars} characters"


sample_cadence = (
    Cadence("sample", SampleScore(text="hello   cadence"))
    .then("clean", clean)
    .sync("count", [count_words, count_chars])
    .then("summarise", summarise)
)

__all__ = ["SampleScore", "sample_cadence"]
''',
        f"{NOTES_DIR}/__init__.py": '"""Reusable notes (`cadence new note NAME` writes one here)."""\n',
        "tests/__init__.py": '"""Tests of the project\'s cadences."""\n',
        "tests/test_cadences.py": f'''"""Tests for the {dist} cadences."""

import asyncio

from {CADENCES_DIR} import SampleScore, sample_cadence


def test_sample_cadence_summarises_text() -> None:
    """The sample counts words and characters of the cleaned text."""
    result = asyncio.run(sample_cadence.run(SampleScore(text="  a  b c ")))
    assert result.summary == "3 words, 5 characters"
''',
    }
