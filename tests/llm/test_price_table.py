"""PriceTable prices a model's snapshots as the model, and never one model as another."""

from __future__ import annotations

import pytest

from cadence_llm import ModelResponse, Price, PriceTable, ScriptedModel, Usage, track_usage

GPT_4O = Price(input=2.5, output=10.0)
MINI = Price(input=0.15, output=0.6)
SONNET = Price(input=3.0, output=15.0)
OLD_SNAPSHOT = Price(input=5.0, output=15.0)


BASES = PriceTable(
    {"gpt-4o": GPT_4O, "claude-3-5-sonnet": SONNET, "gpt-4": MINI, "gemini-1.5-pro": OLD_SNAPSHOT}
)


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("gpt-4o-2024-08-06", GPT_4O),
        ("claude-3-5-sonnet-20241022", SONNET),
        ("claude-3-5-sonnet-latest", SONNET),
        ("claude-3-5-sonnet-v2@20241022", SONNET),
        ("claude-3-5-sonnet-20241022-v2:0", SONNET),
        ("gpt-4-0613", MINI),
        ("gemini-1.5-pro-002", OLD_SNAPSHOT),
    ],
)
def test_a_snapshot_matches_its_base_entry(name, expected):
    """Dates, revision numbers, -latest and versions after an entry's name match that entry."""
    assert BASES.price(name) == expected


@pytest.mark.parametrize(
    "name",
    ["gpt-4o-mini", "gpt-4o-mini-2024-07-18", "gpt-4o-audio-preview", "gpt-4o-", "gpt-4o1"],
)
def test_another_model_is_not_priced_as_the_one_its_name_starts_with(name):
    """gpt-4o-mini and gpt-4o-audio-preview are other models: a table with only gpt-4o has no price."""
    assert PriceTable({"gpt-4o": GPT_4O}).price(name) is None


def test_claude_sonnet_4_5_is_not_claude_sonnet_4():
    """A minor version is another model; its own snapshot still matches it."""
    table = PriceTable({"claude-sonnet-4": SONNET})
    assert table.price("claude-sonnet-4-5") is None
    assert table.price("claude-sonnet-4-20250514") == SONNET


def test_the_longest_matching_entry_wins():
    """A dated entry prices its own snapshot; other snapshots fall back to the base entry."""
    table = PriceTable({"gpt-4o": GPT_4O, "gpt-4o-2024-05-13": OLD_SNAPSHOT, "gpt-4o-mini": MINI})
    assert table.price("gpt-4o-2024-05-13") == OLD_SNAPSHOT
    assert table.price("gpt-4o-2024-08-06") == GPT_4O
    assert table.price("gpt-4o-mini-2024-07-18") == MINI


async def test_an_unlisted_model_is_reported_unpriced_not_costed_as_another():
    """The ledger leaves a gpt-4o-mini call unpriced when the table lists only gpt-4o."""
    response = ModelResponse(
        text="ok", model="gpt-4o-mini-2024-07-18", usage=Usage(input_tokens=1_000_000)
    )
    with track_usage(PriceTable({"gpt-4o": GPT_4O})) as ledger:
        await ScriptedModel([response]).complete("hi")
    assert ledger.calls[0].cost is None
    assert "gpt-4o-mini-2024-07-18" in ledger.unpriced_models
