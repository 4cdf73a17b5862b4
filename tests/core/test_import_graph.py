"""The import graph: no circle at run time; only TYPE_CHECKING imports may close a loop."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def import_graph() -> ModuleType:
    spec = importlib.util.spec_from_file_location("import_graph", ROOT / "scripts/import_graph.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["import_graph"] = module
    spec.loader.exec_module(module)
    return module


def _write(root: Path, files: dict[str, str]) -> None:
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")


def test_the_checker_finds_lazy_circles_and_skips_type_only_ones(
    import_graph: ModuleType, tmp_path: Path
) -> None:
    """A loop closed by an in-function import is reported; one closed under TYPE_CHECKING is not."""
    _write(
        tmp_path,
        {
            "pkg/__init__.py": "",
            "pkg/a.py": "from pkg import b\n",
            "pkg/b.py": "def f():\n    from pkg.a import x\n",
            "pkg/c.py": "from pkg.d import y\n",
            "pkg/d.py": "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from pkg import c\n",
        },
    )
    g = import_graph.graph(tmp_path, ["pkg"])
    assert g["pkg.b"] == {"pkg.a": {"lazy"}}
    assert import_graph.circles(g) == [["pkg.a", "pkg.b"]]
    everything = import_graph.RUNTIME | {"type"}
    assert import_graph.circles(g, everything) == [["pkg.a", "pkg.b"], ["pkg.c", "pkg.d"]]


def test_the_packages_have_no_circle_at_run_time(import_graph: ModuleType) -> None:
    """cadence and cadence_llm import without a loop of module-level or in-function imports."""
    g = import_graph.graph()
    assert "cadence._runner" in g and "cadence_llm.tools" in g
    found = import_graph.circles(g)
    assert found == [], "\n".join(line for c in found for line in import_graph.describe(g, c))
