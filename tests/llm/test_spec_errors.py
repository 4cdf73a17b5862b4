"""model_from_spec on malformed specs: one clear error listing the forms, spaces forgiven."""

from __future__ import annotations

import pytest

from cadence_llm import LocalModel, OpenAIModel, model_from_spec
from cadence_llm.models.weights import WeightsError

FORMS = "local:NAME_OR_PATH, openai:MODEL, anthropic:MODEL or module:attr"


@pytest.mark.parametrize(
    ("spec", "says"),
    [
        (":gpt-4o", "nothing before its ':'"),  # was importlib's bare "Empty module name"
        ("  ", "empty"),
        ("OpenAI:gpt-4o", "provider names are lower-case: openai:gpt-4o"),
        ("ollama:llama3", "cannot import 'ollama'"),
        (".models:fast", "absolute module name"),  # was a TypeError from importlib
    ],
)
def test_a_malformed_spec_says_what_is_wrong_and_lists_the_forms(spec: str, says: str) -> None:
    """Each malformed spec is a ValueError naming the problem and every valid form."""
    with pytest.raises(ValueError) as err:
        model_from_spec(spec)
    assert says in str(err.value) and FORMS in str(err.value)


@pytest.mark.parametrize("url", ["http://127.0.0.1:8000/v1", "https://api.example.com:443"])
def test_a_url_is_not_taken_for_module_attr(url: str) -> None:
    """A server URL gets the spec and variable to use; http:... used to import the stdlib's
    http module and report "'http' has no '//127.0.0.1:8000/v1'"."""
    with pytest.raises(ValueError, match="OPENAI_BASE_URL"):
        model_from_spec(url)


def test_spaces_around_the_name_are_not_part_of_it(monkeypatch: pytest.MonkeyPatch) -> None:
    """`openai: gpt-4o` names gpt-4o (it used to send " gpt-4o" to the API)."""
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test")
    openai = model_from_spec("openai: gpt-4o ")
    local = model_from_spec("local: smollm2", llama=object())
    assert isinstance(openai, OpenAIModel) and openai.model == "gpt-4o"
    assert isinstance(local, LocalModel) and local.model == "smollm2"


def test_an_unknown_bare_name_lists_the_other_forms_too() -> None:
    """CADENCE_MODEL=mistral-large: not local weights, and the error says what else works."""
    with pytest.raises(WeightsError) as err:
        model_from_spec("mistral-large")
    message = str(err.value)
    assert message.count("\n") == 0
    assert "no model file at mistral-large" in message and FORMS in message
