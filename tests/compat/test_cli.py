"""0.7.2's per-command functions of cadence.cli, called with that version's parsed arguments."""

from __future__ import annotations

import argparse
import ast
from pathlib import Path

import pytest

from cadence import cli


def test_new_commands_write_into_072s_default_directories(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """new_cadence_command / new_note_command write cadences/ and notes/ files, with a warning."""
    monkeypatch.chdir(tmp_path)
    with pytest.warns(DeprecationWarning, match=r"cadence\.cli\.main\(\['new', 'cadence'"):
        code = cli.new_cadence_command(
            argparse.Namespace(name="checkout", output=None, force=False)
        )
    assert code == 0 and (tmp_path / "cadences" / "checkout.py").is_file()
    args = argparse.Namespace(
        name="charge-card", output=None, force=False, retry=3, timeout=2.0, fallback=None
    )
    with pytest.warns(DeprecationWarning, match="new_note_command"):
        assert cli.new_note_command(args) == 0
    source = (tmp_path / "notes" / "charge_card.py").read_text()
    ast.parse(source)
    assert "retry=3" in source and "timeout=2.0" in source
    assert "Created: cadences/checkout.py" in capsys.readouterr().out


def test_init_and_validate_commands(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """init_command scaffolds a project; validate_command checks a module and returns 0 or 1."""
    monkeypatch.chdir(tmp_path)
    with pytest.warns(DeprecationWarning, match="init_command"):
        assert cli.init_command(argparse.Namespace(directory="shop", name=None)) == 0
    cadences = tmp_path / "shop" / "cadences" / "__init__.py"
    with pytest.warns(DeprecationWarning, match="validate_command"):
        assert cli.validate_command(argparse.Namespace(module=str(cadences))) == 0
    broken = tmp_path / "broken.py"
    broken.write_text("from cadence import Cadence\nflow = Cadence('x', None).then('a', 1)\n")
    with pytest.warns(DeprecationWarning):
        assert cli.validate_command(argparse.Namespace(module=str(broken))) == 1


def test_diagram_command_writes_the_requested_format(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """diagram_command(cadence=, format=, output=) writes the diagram file."""
    monkeypatch.chdir(tmp_path)
    (tmp_path / "shopflow.py").write_text(
        "from dataclasses import dataclass\n"
        "from cadence import Cadence, Score\n\n"
        "@dataclass\nclass S(Score):\n    n: int = 0\n\n"
        "async def step(score):\n    score.n += 1\n\n"
        "flow = Cadence('shop', S()).then('step', step)\n"
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    args = argparse.Namespace(cadence="shopflow:flow", format="dot", output="shop.dot")
    with pytest.warns(DeprecationWarning, match="diagram_command"):
        assert cli.diagram_command(args) == 0
    assert (tmp_path / "shop.dot").read_text().startswith('digraph "shop"')


def test_unknown_cli_attribute_is_an_attribute_error() -> None:
    """Names that never existed still raise AttributeError."""
    with pytest.raises(AttributeError, match="no_such_command"):
        _ = cli.no_such_command
