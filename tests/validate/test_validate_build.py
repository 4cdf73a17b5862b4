"""build(): accepted compositions become working cadences; rejected ones raise with diagnostics."""

from __future__ import annotations

import pytest
from validate_support import CORPUS, RagScore, load_cases, registry

from cadence import Cadence, CadenceDefinitionError, MergeStrategy
from cadence.validate import Limits, ValidationError, build

VALID = [c for c in load_cases() if c.path.startswith("composition/valid/")]


@pytest.mark.parametrize("case", VALID, ids=[c.path for c in VALID])
def test_every_valid_composition_builds(case) -> None:
    """Each valid corpus composition builds into a Cadence with the written steps."""
    cadence = build(case.text, registry(), score=RagScore())
    assert isinstance(cadence, Cadence)
    assert cadence.steps


async def test_built_rag_composition_runs_both_retrievals_then_answers() -> None:
    """The RAG example runs: both searches merge into docs, then the answer is written."""
    text = (CORPUS / "composition/valid/rag.txt").read_text()
    cadence = build(text, registry(), score=RagScore())
    result = await cadence.run()
    assert sorted(result.docs) == ["doc", "web"]
    assert result.answer in ("doc+web", "web+doc")


async def test_split_composition_routes_on_condition() -> None:
    """A built .split runs the if_true branch when the registry condition holds."""
    text = (CORPUS / "composition/valid/multiline.txt").read_text()
    cadence = build(text, registry(), score=RagScore())
    premium = await cadence.run(RagScore(query="premium question", docs=["b", "a"]))
    plain = await cadence.run(RagScore(query="plain", docs=["b", "a"]))
    assert premium.docs == ["a", "b"] and premium.answer == "a+b"
    assert plain.docs == ["b", "a"] and plain.answer == "b+a"


async def test_child_composition_runs_the_registry_cadence_and_merges() -> None:
    """.child runs the registry's Cadence and calls the registry merge."""
    cadence = build(
        'Cadence("checkout", score).child("pay", payment_flow, merge_payment)',
        registry(),
        score=RagScore(),
    )
    result = await cadence.run()
    assert result.log == ["paid:charged"]


async def test_on_error_composition_continues_after_failure() -> None:
    """on_error(handler, stop=False) from a composition handles a failing note and goes on."""

    def boom(score: RagScore) -> None:
        raise ValueError("boom")

    reg = {**registry(), "boom": boom}
    text = (
        'Cadence("e", score).then("a", boom).on_error(handle_error, stop=False).then("b", answer)'
    )
    result = await build(text, reg, score=RagScore()).run()
    assert result.log == ["error:NoteError"]
    assert result.answer == "none"


def test_merge_strategy_string_maps_to_merge_strategy_member() -> None:
    """merge_strategy="last_write_wins" selects MergeStrategy.last_write_wins."""
    text = (
        'Cadence("m", score).sync("s", [search_docs, search_web], merge_strategy="last_write_wins")'
    )
    step = build(text, registry(), score=RagScore()).steps[0]
    assert step.merge is MergeStrategy.last_write_wins


def test_assignment_form_builds_the_same_plan() -> None:
    """`name = Cadence(...)` builds the same steps as the bare expression."""
    a = build('Cadence("r", score).then("x", answer)', registry(), score=RagScore())
    b = build('rag = Cadence("r", score).then("x", answer)', registry(), score=RagScore())
    assert [s.name for s in a.steps] == [s.name for s in b.steps] == ["x"]


def test_custom_score_name() -> None:
    """score_name= changes the placeholder the text must use."""
    cadence = build(
        'Cadence("r", state).then("x", answer)', registry(), score=RagScore(), score_name="state"
    )
    assert cadence.score == RagScore()


def test_rejection_carries_all_diagnostics_and_is_a_definition_error() -> None:
    """ValidationError is a CadenceDefinitionError listing every finding with positions."""
    text = 'Cadence("x", score).parallel("p", [answer]).then("a", nope)'
    with pytest.raises(ValidationError) as info:
        build(text, registry(), score=RagScore())
    err = info.value
    assert isinstance(err, CadenceDefinitionError)
    assert [d.code for d in err.diagnostics] == ["CAD101", "CAD201"]
    assert "CAD101" in str(err) and "1 more" in str(err)
    assert err.code == "INVALID_SOURCE"


def test_registry_must_be_a_mapping() -> None:
    """build() needs name -> object; a list of names is a TypeError that says so."""
    with pytest.raises(TypeError, match="registry mapping"):
        build('Cadence("x", score).then("a", answer)', ["answer"], score=None)  # type: ignore[arg-type]


def test_non_callable_registry_entry_is_rejected() -> None:
    """A registry value that is not callable cannot be used as a note (CAD204)."""
    with pytest.raises(ValidationError) as info:
        build('Cadence("x", score).then("a", config)', {"config": {"k": 1}}, score=None)
    assert [d.code for d in info.value.diagnostics] == ["CAD204"]


def test_limits_are_configurable() -> None:
    """Limits(max_steps=2) rejects a third step with CAD002."""
    text = 'Cadence("x", score).then("a", answer).then("b", answer).then("c", answer)'
    with pytest.raises(ValidationError) as info:
        build(text, registry(), score=None, limits=Limits(max_steps=2))
    assert [d.code for d in info.value.diagnostics] == ["CAD002"]


def test_built_cadence_does_not_share_the_template_score() -> None:
    """The score passed to build is the cadence's default score, used as the builder does."""
    score = RagScore(query="q")
    cadence = build('Cadence("x", score).then("a", answer)', registry(), score=score)
    assert cadence.score is score
