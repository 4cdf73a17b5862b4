"""Package boundaries: cadence_llm, the recipes and the evals use only cadence's public API."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
CLIENTS = ["cadence_llm", "recipes", "evals", "benchmarks"]


def private_imports(source: str) -> list[str]:
    """Every ``cadence`` module path a source imports that has a ``_private`` part."""
    found: list[str] = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            paths = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            paths = [f"{node.module}.{alias.name}" for alias in node.names]
        else:
            continue
        for path in paths:
            parts = path.split(".")
            if parts[0] == "cadence" and any(p.startswith("_") for p in parts[1:]):
                found.append(path)
    return found


def test_the_check_sees_every_private_form() -> None:
    """The checker reports plain, from-, submodule and lazy (in-function) private imports."""
    source = (
        "import cadence._runner\n"
        "from cadence._plan import SyncStep\n"
        "from cadence import _clock, Cadence\n"
        "from cadence.resilience._retry import Retry\n"
        "def f():\n    from cadence.validate import check_source\n"
        "    from cadence._context import note_var\n"
    )
    assert private_imports(source) == [
        "cadence._runner",
        "cadence._plan.SyncStep",
        "cadence._clock",
        "cadence.resilience._retry.Retry",
        "cadence._context.note_var",
    ]


@pytest.mark.parametrize("folder", CLIENTS)
def test_clients_import_no_private_cadence_module(folder: str) -> None:
    """No module of the folder imports a ``cadence._*`` module or name."""
    offenders = {
        str(path.relative_to(ROOT)): hits
        for path in sorted((ROOT / folder).rglob("*.py"))
        if (hits := private_imports(path.read_text(encoding="utf-8")))
    }
    assert offenders == {}
