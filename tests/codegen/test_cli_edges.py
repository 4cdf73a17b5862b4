"""`cadence generate` on odd input: one line naming the fix, the right exit code, and no
model asked when the mistake is known before."""

from __future__ import annotations

import sys
import textwrap

import pytest

from cadence.cli import main

APP = textwrap.dedent(
    '''
    from cadence_llm.models.scripted import FunctionModel, ScriptedModel


    async def load(score):
        """Load it."""


    PLAN = '{"name": "job", "steps": [{"covers": "load it", "kind": "then", "task": "load"}]}'
    MODULE = "```python\\nfrom cadence import Cadence\\n\\nasync def a(score):\\n    pass\\n\\nflow = Cadence('x', object()).then('a', a)\\n```"
    CALLS = []
    DASHED = {"load-it": load}
    EMPTY = {}
    INERT = {"load": load, "config": 5}


    def plan():
        CALLS.append(1)
        return ScriptedModel([PLAN], repeat=True)


    def scaffold():
        CALLS.append(1)
        return ScriptedModel([MODULE], repeat=True)


    def _interrupt(request):
        raise KeyboardInterrupt


    def interrupted():
        return FunctionModel(_interrupt)
    '''
)


@pytest.fixture
def app(tmp_path, monkeypatch):
    """A project folder with one note and scripted models, as the current directory."""
    (tmp_path / "edgeapp.py").write_text(APP)
    monkeypatch.chdir(tmp_path)
    monkeypatch.syspath_prepend(str(tmp_path))
    import edgeapp  # type: ignore[import-not-found]

    edgeapp.CALLS.clear()
    yield edgeapp
    sys.modules.pop("edgeapp", None)


def _one_line(capsys: pytest.CaptureFixture[str], *words: str) -> None:
    err = capsys.readouterr().err
    assert "Traceback" not in err and err.count("\n") == 1, err
    for word in words:
        assert word in err, err


@pytest.mark.parametrize(
    ("registry", "message"),
    [
        ("edgeapp:DASHED", "got 'load-it'; e.g. 'load_it'"),
        ("edgeapp:EMPTY", "needs a non-empty registry"),
        ("edgeapp:INERT", "'config' is int 5"),
        ("edgeapp.py", "is a file path; name the module instead (e.g. 'edgeapp'"),
        ("./edgeapp.py", "is a file path"),
    ],
)
def test_a_registry_no_answer_could_use_is_one_line_before_the_model_loads(
    app, capsys, registry, message
):
    """Such registries printed a traceback (or a 'relative import' puzzle for a file path)."""
    code = main(["generate", "load it", "--registry", registry, "--model", "edgeapp:plan"])
    assert code == 1 and app.CALLS == []
    _one_line(capsys, "cadence generate: error:", message)


def test_an_empty_task_is_refused_before_the_model_loads(app, capsys):
    """`cadence generate ""` asked the model to write a cadence for no words."""
    assert main(["generate", "  ", "--registry", "edgeapp", "--model", "edgeapp:plan"]) == 1
    assert app.CALLS == []
    _one_line(capsys, "the task is empty")


def test_max_tokens_zero_is_a_usage_error(app, capsys):
    """--max-tokens 0 was silently read as "no cap given" (600)."""
    with pytest.raises(SystemExit) as info:
        main(["generate", "load it", "--registry", "edgeapp", "--model", "edgeapp:plan",
              "--max-tokens", "0"])  # fmt: skip
    assert info.value.code == 2
    assert "--max-tokens: must be >= 1, got 0" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("output", "message"),
    [("missing/etl.py", "the directory missing does not exist"), (".", "is a directory")],
)
def test_an_output_that_cannot_be_written_is_refused_before_the_model_loads(
    app, capsys, output, message
):
    """-o into a missing folder or onto a folder printed a traceback after the model ran."""
    args = ["generate", "a job", "--scaffold", "--model", "edgeapp:scaffold", "-o", output, "-f"]
    assert main(args) == 1 and app.CALLS == []
    _one_line(capsys, message)


def test_ctrl_c_while_the_model_answers_is_one_line_and_exit_130(app, capsys):
    """Ctrl-C printed asyncio's traceback; it ends like every other cadence command."""
    args = ["generate", "load it", "--registry", "edgeapp", "--model", "edgeapp:interrupted"]
    assert main(args) == 130
    _one_line(capsys, "cadence generate: interrupted")
