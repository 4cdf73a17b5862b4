"""The code blocks of docs/web.md run as written."""

from __future__ import annotations

import re
import sys
import types
from pathlib import Path

import pytest

DOC = Path(__file__).resolve().parents[2] / "docs" / "web.md"


def test_every_python_block_in_the_web_docs_runs(monkeypatch: pytest.MonkeyPatch) -> None:
    """Executing the page's python blocks in order raises nothing (their asserts hold)."""
    blocks = re.findall(r"```python\n(.*?)```", DOC.read_text(), flags=re.DOTALL)
    assert len(blocks) >= 8
    module = types.ModuleType("docs_web")  # a real module: dataclasses look their module up
    monkeypatch.setitem(sys.modules, module.__name__, module)
    for index, block in enumerate(blocks):
        exec(compile(block, f"{DOC.name}[block {index}]", "exec"), module.__dict__)
