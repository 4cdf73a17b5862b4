"""0.7.2 call forms the compat layer must accept as 0.7.2 did: signatures, CLI arguments, mmdc."""

from __future__ import annotations

import argparse
import ast
import inspect
import os
import stat
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest

from cadence import Cadence, Score, cli
from cadence.diagram import GraphvizNotFoundError


@dataclass
class Plan(Score):
    n: int = 0


def step(score: Plan) -> None:
    score.n += 1


def plan() -> Cadence[Plan]:
    return Cadence("checkout", Plan()).then("validate", step)


def _parameters(fn: Callable[..., object]) -> list[str]:
    return list(inspect.signature(fn).parameters)


def test_deprecated_functions_show_072_parameters() -> None:
    """inspect.signature of the bound shims lists 0.7.2's parameters, not the owner module's."""
    import cadence
    import cadence.diagram as diagram
    import cadence.reporters.opentelemetry as otel
    import cadence.reporters.prometheus as prom

    assert _parameters(diagram.print_cadence) == ["cadence"]
    assert _parameters(cadence.print_cadence) == ["cadence"]
    assert _parameters(diagram.render_svg) == ["cadence", "format", "options"]
    assert _parameters(prom.prometheus_reporter) == ["prefix", "track_active_flows"]
    assert _parameters(otel.opentelemetry_reporter) == [
        "service_name",
        "include_state",
        "include_timing",
    ]


def _note_args(**options: object) -> argparse.Namespace:
    values = {"name": "charge", "output": None, "force": False}
    values.update({"retry": None, "timeout": None, "fallback": None, **options})
    return argparse.Namespace(**values)


def test_new_note_command_leaves_out_empty_options_as_072_did(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """retry=0, timeout=0.0 and fallback="" mean "not given" (0.7.2 tested them for truth)."""
    monkeypatch.chdir(tmp_path)
    with pytest.warns(DeprecationWarning):
        code = cli.new_note_command(_note_args(retry=0, timeout=0.0, fallback=""))
    assert code == 0
    source = (tmp_path / "notes" / "charge.py").read_text()
    ast.parse(source)
    assert "retry=" not in source and "timeout=" not in source and "fallback=" not in source


def test_cli_commands_read_values_that_look_like_options_as_values(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A fallback, name or directory starting with '-' is passed through, not parsed as a flag."""
    monkeypatch.chdir(tmp_path)
    with pytest.warns(DeprecationWarning):
        assert cli.new_note_command(_note_args(fallback="--none--")) == 0
    assert "--none--" in (tmp_path / "notes" / "charge.py").read_text()
    with pytest.warns(DeprecationWarning):
        code = cli.new_cadence_command(argparse.Namespace(name="-x", output=None, force=False))
    assert code == 0 and (tmp_path / "cadences" / "_x.py").is_file()
    with pytest.warns(DeprecationWarning):
        assert cli.init_command(argparse.Namespace(directory="-shop", name="shop")) == 0
    assert (tmp_path / "-shop" / "pyproject.toml").is_file()


_FAKE_MMDC = """#!/bin/sh
# Answers only 0.7.2's call: Mermaid text on stdin, SVG on stdout.
[ "$*" = "-i - -o - -e svg" ] || { echo "unexpected arguments: $*" >&2; exit 2; }
echo '<svg><desc>'; cat; echo '</desc></svg>'
"""


def _fake_mmdc(directory: Path, text: str) -> None:
    mmdc = directory / "mmdc"
    mmdc.write_text(text)
    mmdc.chmod(mmdc.stat().st_mode | stat.S_IXUSR)


def test_render_svg_mermaid_pipes_text_through_mmdc(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """render_svg(format="mermaid") runs 0.7.2's `mmdc -i - -o - -e svg`, text in and out."""
    from cadence.diagram import render_svg

    _fake_mmdc(tmp_path, _FAKE_MMDC)
    monkeypatch.setenv("PATH", f"{tmp_path}{os.pathsep}{os.environ.get('PATH', '')}")
    with pytest.warns(DeprecationWarning, match="render"):
        svg = render_svg(plan(), format="mermaid", direction="LR")
    assert svg.startswith("<svg><desc>") and svg.rstrip().endswith("</desc></svg>")
    assert "flowchart LR" in svg and "validate" in svg


def test_render_svg_mermaid_errors_name_mmdc(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A missing mmdc names the npm package; a failing one raises RuntimeError with its stderr."""
    from cadence.diagram import render_svg

    monkeypatch.setenv("PATH", str(tmp_path))
    with (
        pytest.warns(DeprecationWarning),
        pytest.raises(GraphvizNotFoundError, match="mermaid-cli"),
    ):
        render_svg(plan(), format="mermaid")
    _fake_mmdc(tmp_path, "#!/bin/sh\necho 'parse error' >&2\nexit 3\n")
    with pytest.warns(DeprecationWarning), pytest.raises(RuntimeError, match=r"\(3\): parse error"):
        render_svg(plan(), format="mermaid")
