"""The composition grammar is exported as data and matches the builder it describes."""

from __future__ import annotations

import inspect
import json

from cadence import Cadence
from cadence.validate import GRAMMAR, MERGE_STRATEGIES, METHODS, grammar_table


def test_grammar_is_json_data_listing_every_composition_method() -> None:
    """GRAMMAR round-trips through JSON and lists then/sync/split/child/map/on_error (no wait)."""
    data = json.loads(json.dumps(grammar_table()))
    assert data == json.loads(json.dumps(dict(GRAMMAR)))
    assert set(data["methods"]) == {"then", "sync", "split", "child", "map", "on_error"}
    assert data["constructor"]["params"][0]["shape"] == "name"
    assert data["merge_strategies"] == list(MERGE_STRATEGIES)


def test_table_parameters_match_the_builder_signatures() -> None:
    """Each method's parameter names, order and keyword-only flags match Cadence's methods."""
    for name, method in METHODS.items():
        params = list(inspect.signature(getattr(Cadence, name)).parameters.values())[1:]
        assert [p.name for p in params] == [p.name for p in method.params], name
        for real, described in zip(params, method.params, strict=True):
            assert (real.kind is inspect.Parameter.KEYWORD_ONLY) == described.keyword_only, name
            assert (real.default is inspect.Parameter.empty) == described.required, name


def test_merge_strategy_names_exist() -> None:
    """Every merge strategy name in the grammar is a MergeStrategy attribute."""
    from cadence import MergeStrategy

    assert all(callable(getattr(MergeStrategy, name)) for name in MERGE_STRATEGIES)


def test_validate_all_is_sorted_and_complete() -> None:
    """cadence.validate's __all__ is sorted (constants, classes, functions) and complete."""
    import cadence.validate as v

    def group(name: str) -> tuple[int, str]:
        return (0 if name.isupper() else 1 if name[0].isupper() else 2, name)

    assert list(v.__all__) == sorted(v.__all__, key=group)
    assert all(hasattr(v, name) for name in v.__all__)
