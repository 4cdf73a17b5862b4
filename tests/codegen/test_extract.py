"""Taking the composition out of a model's answer undoes formatting slips only."""

from __future__ import annotations

import pytest

from cadence_llm._extract import extract_code, extract_json, extract_module

from .support import GOOD, fenced


def test_fenced_block_is_taken():
    """The code block of a chatty answer is the composition."""
    assert extract_code(fenced(GOOD)) == GOOD


def test_unterminated_fence_still_yields_the_code():
    """A block cut off by the token limit keeps what was written."""
    assert extract_code("```python\n" + GOOD) == GOOD


def test_cadence_imports_are_dropped_other_imports_kept():
    """``from cadence import Cadence`` is habit and dropped; ``import os`` stays for the validator."""
    code = "from cadence import Cadence\nimport os\n" + GOOD
    out = extract_code(code)
    assert "from cadence" not in out and "import os" in out


def test_chain_without_parentheses_is_wrapped():
    """A chain broken over lines gets the parentheses Python needs."""
    text = 'Cadence("x", score)\n    .then("a", load_order)\n    .then("b", fetch_prices)'
    out = extract_code(text)
    assert out.startswith("(\n") and out.endswith("\n)")
    compile(out, "<test>", "eval", flags=0x400)  # PyCF_ONLY_AST: parses, runs nothing


def test_assignment_is_kept_when_wrapping():
    """``flow = Cadence(...)`` with continuation lines becomes ``flow = (...)``."""
    out = extract_code('flow = Cadence("x", score)\n.then("a", load_order)')
    assert out.startswith("flow = (\n")


def test_prose_before_an_unfenced_answer_is_dropped():
    """Text before the constructor's line is not part of the composition."""
    assert (
        extract_code('Sure!\nCadence("x", score).then("a", f)')
        == 'Cadence("x", score).then("a", f)'
    )


def test_json_is_read_from_a_fence_or_bare():
    """JSON plans are found fenced, bare, or after a sentence."""
    assert extract_json('```json\n{"a": 1}\n```') == {"a": 1}
    assert extract_json('Plan: {"a": 2}') == {"a": 2}
    with pytest.raises(ValueError, match="not valid JSON"):
        extract_json("no json here")


def test_module_extraction_keeps_everything():
    """A scaffold keeps its imports and definitions."""
    text = "```python\nimport asyncio\nx = 1\n```"
    assert extract_module(text) == "import asyncio\nx = 1\n"
