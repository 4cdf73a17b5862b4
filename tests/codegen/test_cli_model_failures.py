"""`cadence generate` when the model cannot start or cannot answer: one line, exit 1."""

from __future__ import annotations

import sys
import textwrap

import pytest

from cadence.cli import main

APP = textwrap.dedent(
    '''
    from cadence_llm.errors import ModelConnectionError
    from cadence_llm.models.scripted import ScriptedModel


    async def load(score):
        """Load it."""


    def unreachable():
        error = ModelConnectionError("connection failed", provider="acme", model="m1")
        return ScriptedModel([error], repeat=True)


    def explode():
        raise AssertionError("never asked for")
    '''
)


@pytest.fixture
def app(tmp_path, monkeypatch):
    """A project folder with one note and a model that cannot be reached, as the cwd."""
    (tmp_path / "failapp.py").write_text(APP)
    monkeypatch.chdir(tmp_path)
    monkeypatch.syspath_prepend(str(tmp_path))
    yield tmp_path
    sys.modules.pop("failapp", None)


def test_an_unreachable_model_is_one_line(app, capsys):
    """A ModelError while generating is reported in one line with a fix, not a traceback."""
    code = main(["generate", "load it", "--registry", "failapp", "--model", "failapp:unreachable"])
    err = capsys.readouterr().err
    assert code == 1 and "Traceback" not in err and err.count("\n") == 1
    assert "[MODEL_CONNECTION] acme/m1: connection failed" in err and "(fix:" in err


def test_a_provider_without_credentials_is_one_line(app, capsys, monkeypatch):
    """An SDK that refuses to start (no API key) names --model and the fix in one line."""
    for name in ("OPENAI_API_KEY", "OPENAI_ADMIN_KEY", "OPENAI_BASE_URL"):
        monkeypatch.delenv(name, raising=False)
    code = main(["generate", "load it", "--registry", "failapp", "--model", "openai:gpt-4o"])
    err = capsys.readouterr().err
    assert code == 1 and "Traceback" not in err and err.count("\n") == 1
    assert "--model 'openai:gpt-4o'" in err and "API key" in err


def test_a_bad_registry_is_reported_before_the_model_loads(app, capsys):
    """--registry is checked first: a local model takes long to load, a typo should not wait."""
    code = main(["generate", "t", "--registry", "nosuchmod", "--model", "failapp:explode"])
    err = capsys.readouterr().err
    assert code == 1 and "cannot import 'nosuchmod'" in err and "Traceback" not in err
