"""`cadence diagram`, `validate`, `run`, `timeline`: as a new user would type them."""

from __future__ import annotations

import json
import shutil
import textwrap

import pytest
from cli_support import cadence

APP = """
from dataclasses import dataclass, field

from cadence import Cadence, Score, note


@dataclass
class Order(Score):
    order_id: str = "ORD-1"
    items: list = field(default_factory=list)
    total: float = 0.0
    status: str = "new"


async def load(score: Order) -> None:
    score.items = [2.5, 4.0]


def price(score: Order) -> None:
    score.total = sum(score.items)


def is_big(score: Order) -> bool:
    return score.total > 5


async def fail(score: Order) -> None:
    raise ValueError("card declined")


def mark(score: Order) -> None:
    score.status = "big" if score.total > 5 else "small"


checkout = Cadence("checkout", Order()).then("load", load).then("price", price).split("route", is_big, mark, mark)
broken = Cadence("broken", Order()).then("pay", fail)
not_a_cadence = 42
"""


@pytest.fixture
def app(workdir):
    """A module `shopapp` in the working directory with a cadence and a failing one."""
    (workdir / "shopapp.py").write_text(textwrap.dedent(APP), encoding="utf-8")
    return workdir


# -- diagram ------------------------------------------------------------------------------------


def test_diagram_formats_print_to_stdout(app) -> None:
    """mermaid, dot and text diagrams of module:attr are printed."""
    assert "flowchart" in cadence("diagram", "shopapp:checkout").out
    assert "digraph" in cadence("diagram", "shopapp:checkout", "--format", "dot").out
    text = cadence("diagram", "shopapp:checkout", "--format", "text").out
    assert text.startswith("=== Cadence: checkout ===\n├── [load]\n")  # 0.7.2's layout
    assert "◇ BRANCH: route (is_big?)" in text


def test_diagram_to_file_and_svg(app) -> None:
    """-o writes the file; svg renders through Graphviz."""
    assert cadence("diagram", "shopapp:checkout", "-o", "c.mmd").code == 0
    assert "flowchart" in (app / "c.mmd").read_text()
    result = cadence("diagram", "shopapp:checkout", "--format", "svg", "-o", "c.svg")
    if shutil.which("dot"):
        assert result.code == 0 and "<svg" in (app / "c.svg").read_text()
    else:
        assert result.code == 1 and "Graphviz" in result.one_line_error()


def test_diagram_bad_targets_are_one_line_errors(app) -> None:
    """No colon, a missing module, a missing attribute, a non-cadence: one line each, exit 1."""
    cases = {
        "shopapp": "expected module:attribute",
        "nosuchmod:x": "cannot import 'nosuchmod'",
        "shopapp:nothing": "has no attribute",
        "shopapp:not_a_cadence": "not a Cadence",
    }
    for target, needle in cases.items():
        result = cadence("diagram", target)
        assert result.code == 1, target
        assert needle in result.one_line_error(), target


def test_diagram_unknown_format_is_usage_error(app) -> None:
    """--format pdf is rejected by argparse with exit 2."""
    assert cadence("diagram", "shopapp:checkout", "--format", "pdf").code == 2


# -- validate -----------------------------------------------------------------------------------


BAD = 'from cadence import Cadence\n\nc = Cadence("x", None).parallel("p", [nope])\n'


def test_validate_clean_file_and_module_exit_0(app) -> None:
    """A clean file and a clean module (static + import checks) pass."""
    for target in ("shopapp.py", "shopapp", "shopapp:checkout", "."):
        result = cadence("validate", target)
        assert result.code == 0, (target, result.out)
        assert "no problems found" in result.err


def test_validate_errors_exit_1_with_positions_and_fixes(workdir) -> None:
    """Errors are printed one per line with file:line:col, code and fix; exit 1."""
    (workdir / "bad.py").write_text(BAD)
    result = cadence("validate", "bad.py")
    assert result.code == 1
    lines = result.out.strip().splitlines()
    assert lines[0].startswith("bad.py:3:24: CAD101 error: Cadence has no method .parallel()")
    assert '(fix: use .sync("step"' in lines[0]
    assert lines[1].startswith("bad.py:3:39: CAD201 error:")
    assert "2 errors, 0 warnings" in result.err


def test_validate_json_output(workdir) -> None:
    """--json prints a JSON list of diagnostics."""
    (workdir / "bad.py").write_text(BAD)
    result = cadence("validate", "bad.py", "--json")
    data = json.loads(result.out)
    assert result.code == 1
    assert [d["code"] for d in data] == ["CAD101", "CAD201"]
    assert data[0]["slug"] == "unknown-method" and data[0]["line"] == 3


def test_validate_stdin(workdir) -> None:
    """`-` reads the source from stdin."""
    result = cadence("validate", "-", stdin=BAD)
    assert result.code == 1 and result.out.startswith("<stdin>:3:24: CAD101")


def test_validate_registry_that_is_not_a_mapping_is_one_line(workdir) -> None:
    """--registry module:attr naming something that is not a mapping of names (here a str)
    is a one-line error naming the fix, not CAD000 "internal error" or a substring test."""
    (workdir / "regmod.py").write_text('NAME = "search,answer"\n')
    result = cadence(
        "validate",
        "-",
        "--mode",
        "composition",
        "--registry",
        "regmod:NAME",
        stdin='Cadence("x", score).then("a", arch)',
    )
    assert result.code != 0
    assert "not a mapping of names" in result.one_line_error()


def test_validate_composition_mode_with_registry_names(workdir) -> None:
    """--mode composition --registry a,b checks untrusted text against those names."""
    text = 'Cadence("x", score).then("a", search).then("b", __import__("os"))'
    result = cadence(
        "validate", "-", "--mode", "composition", "--registry", "search,answer", stdin=text
    )
    codes = [line.split()[1] for line in result.out.strip().splitlines()]
    assert result.code == 1 and codes == ["CAD502"]
    ok = cadence(
        "validate",
        "-",
        "--mode",
        "composition",
        "--registry",
        "search",
        stdin='Cadence("x", score).then("a", search)',
    )
    assert ok.code == 0


def test_validate_module_imports_and_checks_built_cadences(workdir) -> None:
    """A module whose note cannot take the score (hidden from the AST) fails on import checks."""
    (workdir / "hidden.py").write_text(
        "from cadence import Cadence\n\n"
        "def factory():\n    return lambda a, b: None\n\n"
        'flow = Cadence("f", None).then("x", factory())\n'
    )
    result = cadence("validate", "hidden")
    assert result.code == 1 and "CAD603" in result.out


def test_validate_broken_module_does_not_import_it(workdir) -> None:
    """Static errors in a module stop validation before its code is imported."""
    (workdir / "danger.py").write_text(BAD + 'raise SystemExit("imported!")\n')
    result = cadence("validate", "danger")
    assert result.code == 1 and "CAD101" in result.out


def test_validate_warnings_pass_unless_strict(workdir) -> None:
    """Warnings alone exit 0; --strict makes them fail."""
    (workdir / "warn.py").write_text("import time\n\n\nasync def n(score):\n    time.sleep(1)\n")
    assert cadence("validate", "warn.py").code == 0
    assert cadence("validate", "warn.py", "--strict").code == 1


def test_validate_missing_targets_are_one_line_errors(workdir) -> None:
    """A missing .py file or unknown module is one line, exit 1; no target is exit 2."""
    assert "no such file" in cadence("validate", "missing.py").one_line_error()
    assert "cannot find module" in cadence("validate", "no.such.module").one_line_error()
    assert cadence("validate").code == 2


# -- run ----------------------------------------------------------------------------------------


def test_run_prints_final_score_as_json(app) -> None:
    """`run module:attr` prints the final score as JSON."""
    result = cadence("run", "shopapp:checkout")
    data = json.loads(result.out)
    assert result.code == 0
    assert data == {"order_id": "ORD-1", "items": [2.5, 4.0], "total": 6.5, "status": "big"}


def test_run_with_score_json_and_file(app) -> None:
    """--score sets fields (other fields keep the template's values); @file reads JSON."""
    result = cadence("run", "shopapp:checkout", "--score", '{"order_id": "ORD-9"}')
    assert json.loads(result.out)["order_id"] == "ORD-9"
    (app / "score.json").write_text('{"order_id": "F-1"}')
    assert (
        json.loads(cadence("run", "shopapp:checkout", "--score", "@score.json").out)["order_id"]
        == "F-1"
    )


def test_run_bad_score_arguments_are_one_line_errors(app) -> None:
    """Invalid JSON, a non-object, an unknown field, a missing @file: one line each, exit 1."""
    cases = {
        "{oops": "not valid JSON",
        "[1]": "must be a JSON object",
        '{"colour": 1}': "has no field 'colour'",
        "@nope.json": "cannot read nope.json",
    }
    for raw, needle in cases.items():
        result = cadence("run", "shopapp:checkout", "--score", raw)
        assert result.code == 1, raw
        assert needle in result.one_line_error(), raw


def test_run_failure_is_one_line_unless_traceback(app) -> None:
    """A failing note is reported in one line (exit 1); --traceback re-raises it."""
    result = cadence("run", "shopapp:broken")
    assert result.code == 1
    line = result.one_line_error()
    assert "card declined" in line and "--traceback" in line
    with pytest.raises(Exception, match="card declined"):
        cadence("run", "shopapp:broken", "--traceback")


def test_run_progress_shows_each_step(app) -> None:
    """--progress prints start/finish lines for the cadence and each step on stderr."""
    result = cadence("run", "shopapp:checkout", "--progress")
    assert result.code == 0
    for needle in ("▶ checkout", "✓ load", "✓ price", "✓ route", "■ checkout done"):
        assert needle in result.err
    quiet = cadence("run", "shopapp:checkout", "--no-progress")
    assert quiet.err == ""


def test_timeline_writes_html(app) -> None:
    """`timeline module:attr -o run.html` runs once and writes the HTML page."""
    result = cadence("timeline", "shopapp:checkout", "-o", "run.html")
    assert result.code == 0 and "wrote run.html" in result.out
    assert "<html" in (app / "run.html").read_text().lower()
    assert "cannot import" in cadence("timeline", "nosuch:x").one_line_error()


def test_run_score_values_the_score_class_refuses_are_one_line_errors(workdir) -> None:
    """A dataclass whose __post_init__ raises TypeError/ValueError, or a pydantic score that
    fails validation, on --score values: one line naming the class, exit 1, no traceback."""
    (workdir / "strict_scores.py").write_text(
        textwrap.dedent(
            """
            from dataclasses import dataclass
            from pydantic import BaseModel
            from cadence import Cadence, Score

            @dataclass
            class Order(Score):
                quantity: int = 1

                def __post_init__(self):
                    if not isinstance(self.quantity, int):
                        raise TypeError("quantity must be an int")

            class Ticket(BaseModel):
                priority: int = 1

            orders = Cadence("orders", Order()).then("noop", lambda s: None)
            tickets = Cadence("tickets", Ticket()).then("noop", lambda s: None)
            """
        )
    )
    cases = {
        "strict_scores:orders": ('{"quantity": "two"}', "quantity must be an int"),
        "strict_scores:tickets": ('{"priority": "high"}', "priority"),
    }
    for target, (raw, needle) in cases.items():
        result = cadence("run", target, "--score", raw)
        assert result.code == 1, target
        line = result.one_line_error()
        assert "refused --score" in line and needle in line, line
