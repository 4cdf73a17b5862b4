"""``cadence generate`` as a user types it: registry module, model spec, output, errors."""

from __future__ import annotations

import json
import sys
import textwrap

import pytest

from cadence.cli import main

APP = textwrap.dedent(
    '''
    from dataclasses import dataclass, field

    from cadence_llm.models.scripted import ScriptedModel


    @dataclass
    class Score:
        trace: list = field(default_factory=list)


    async def load(score):
        """Load it."""


    async def save(score):
        """Save it."""


    GOOD = '{"name": "job", "steps": [{"covers": "load", "kind": "then", "task": "load"}, {"covers": "then save", "kind": "then", "task": "save"}]}'
    BAD = '{"name": "job", "steps": [{"covers": "t", "kind": "parallel", "tasks": ["load"]}]}'
    MODULE = "```python\\nfrom cadence import Cadence\\n\\nasync def a(score):\\n    pass\\n\\nflow = Cadence('x', object()).then('a', a)\\n```"


    async def report(score, error):
        """Report a failed step."""


    def good():
        return ScriptedModel([GOOD])


    def stray():
        return ScriptedModel([GOOD], repeat=True)


    def bad():
        return ScriptedModel([BAD], repeat=True)


    def scaffold():
        return ScriptedModel([MODULE])
    '''
)


@pytest.fixture
def app(tmp_path, monkeypatch):
    """A user's project folder with notes and scripted models, as the current directory."""
    (tmp_path / "genapp.py").write_text(APP)
    monkeypatch.chdir(tmp_path)
    monkeypatch.syspath_prepend(str(tmp_path))
    yield tmp_path
    sys.modules.pop("genapp", None)


def test_generate_prints_the_accepted_composition(app, capsys):
    """A valid answer is printed and the exit code is 0."""
    code = main(["generate", "load then save", "--registry", "genapp", "--model", "genapp:good"])
    out = capsys.readouterr().out
    assert code == 0 and 'Cadence("job", score)' in out and '.then("save", save)' in out
    assert "# then save" in out  # each step's words are the comment above its call


def test_generate_prints_remaining_task_findings_as_warnings(app, capsys):
    """A valid answer that still departs from the task is printed, with the findings on
    stderr, exit 0 (it is valid code; the reader decides)."""
    task = "Load it, then save it. If a step fails, report it."
    code = main(["generate", task, "--registry", "genapp", "--model", "genapp:stray"])
    captured = capsys.readouterr()
    assert code == 0 and '.then("save", save)' in captured.out
    assert "CAD702 warning" in captured.err and "when a step fails" in captured.err


def test_generate_json_outcome(app, capsys):
    """--json prints the outcome with source, repairs and diagnostics."""
    main(["generate", "load then save", "--registry", "genapp", "--model", "genapp:good", "--json"])
    data = json.loads(capsys.readouterr().out)
    assert data["ok"] is True and data["repairs"] == 0 and data["diagnostics"] == []


def test_generate_failure_lists_diagnostics_and_exits_1(app, capsys):
    """When no answer is accepted, the diagnostics go to stderr with a fix, exit 1."""
    code = main(
        ["generate", "t", "--registry", "genapp", "--model", "genapp:bad", "--max-repairs", "1"]
    )
    err = capsys.readouterr().err
    assert code == 1 and "CAD101" in err and "no acceptable answer after 2" in err


def test_generate_scaffold_writes_a_file_for_review(app, capsys):
    """--scaffold -o writes the module (validated, not run) and refuses to overwrite."""
    args = ["generate", "etl", "--scaffold", "-o", "flow.py", "--model", "genapp:scaffold"]
    assert main(args) == 0
    assert "flow = Cadence" in (app / "flow.py").read_text()
    assert "review it" in capsys.readouterr().out
    assert main(args) == 1
    assert "exists; pass -f" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--registry", "genapp", "--model", "gpt"], "no model file at gpt"),
        (["--registry", "nosuchmod", "--model", "genapp:good"], "cannot import 'nosuchmod'"),
        (["--registry", "genapp:nope", "--model", "genapp:good"], "no attribute 'nope'"),
        (["--registry", "genapp", "--model", "genapp:Score"], "not a cadence_llm Model"),
        (["--model", "genapp:good"], "--registry is required"),
    ],
)
def test_user_mistakes_are_one_line(app, capsys, args, message):
    """Bad model specs and registries give one line naming the fix, exit 1, no traceback."""
    assert main(["generate", "t", *args]) == 1
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err and err.count("\n") == 1


def test_missing_task_is_a_usage_error(capsys):
    """Without a task argparse exits 2 with usage."""
    with pytest.raises(SystemExit) as info:
        main(["generate", "--model", "local:smollm2"])
    assert info.value.code == 2


NOTES_APP = textwrap.dedent(
    '''
    import json
    from dataclasses import dataclass

    from cadence import Score, note
    from cadence_llm.models.scripted import ScriptedModel


    @dataclass
    class Doc(Score):
        text: str = ""


    @note
    async def clean(score):
        """Clean the text."""


    @note(retry=2)
    async def summarise(score):
        """Summarise it."""


    PLAN = json.dumps({"name": "p", "steps": [
        {"covers": "Clean the text,", "kind": "then", "task": "clean"},
        {"covers": "then summarise it.", "kind": "then", "task": "summarise"}]})


    CALLS = []


    def plan():
        CALLS.append(1)
        return ScriptedModel([PLAN] * 3)


    MODULE = "```python\\nfrom cadence import Cadence\\n\\nasync def a(score):\\n    pass\\n\\nflow = Cadence('x', object()).then('a', a)\\n```"


    def scaffold():
        CALLS.append(1)
        return ScriptedModel([MODULE] * 3)
    '''
)


@pytest.fixture
def notes_app(tmp_path, monkeypatch):
    """A project module whose notes are @note-decorated, as `cadence init` writes them."""
    (tmp_path / "notesapp.py").write_text(NOTES_APP)
    (tmp_path / "brokenreg.py").write_text('raise RuntimeError("config missing")\n')
    monkeypatch.chdir(tmp_path)
    monkeypatch.syspath_prepend(str(tmp_path))
    yield tmp_path
    for name in ("notesapp", "brokenreg"):
        sys.modules.pop(name, None)


def test_generate_registry_module_includes_its_note_decorated_functions(notes_app, capsys):
    """`--registry MODULE` offered no @note function, so every answer failed."""
    code = main(
        [
            "generate",
            "Clean the text, then summarise it.",
            "--registry",
            "notesapp",
            "--model",
            "notesapp:plan",
        ]
    )
    out = capsys.readouterr().out
    assert code == 0 and '.then("summarise", summarise)' in out


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--max-repairs", "-1"], "max-repairs"),
        (["--registry", "brokenreg"], "config missing"),
    ],
)
def test_generate_user_mistakes_are_one_line_without_a_traceback(notes_app, args, message):
    """A negative --max-repairs and a registry module that fails to import used to print a
    traceback; they exit nonzero with one line naming the problem."""
    base = ["generate", "x", "--model", "notesapp:plan"]
    if "--registry" not in args:
        base += ["--registry", "notesapp"]
    from tests.cli.cli_support import cadence

    result = cadence(*base, *args)
    assert result.code != 0
    assert "Traceback" not in result.err and message in result.err


def test_generate_refuses_an_existing_output_file_before_calling_the_model(notes_app, capsys):
    """-o FILE that exists was refused only after the model had run (and been paid for)."""
    import notesapp  # type: ignore[import-not-found]

    (notes_app / "out.py").write_text("old\n")
    code = main(["generate", "a job", "--scaffold", "--model", "notesapp:scaffold", "-o", "out.py"])
    assert code != 0
    assert "exists; pass -f" in capsys.readouterr().err
    assert notesapp.CALLS == []
    assert (notes_app / "out.py").read_text() == "old\n"
