"""GBNF and plan schema narrowed to a registry; plans rendered safely."""

from __future__ import annotations

import re

from cadence.validate import check_source
from cadence_llm import _derive
from cadence_llm.codegen import grammar_for, plan_schema_for

from .support import registry


def _rules(gbnf: str) -> tuple[set[str], set[str]]:
    defined, used = set(), set()
    for line in gbnf.splitlines():
        if "::=" not in line or line.startswith("#"):
            continue
        name, body = line.split("::=", 1)
        defined.add(name.strip())
        body = re.sub(r'"(?:\\.|[^"\\])*"', "", body)
        body = re.sub(r"\[[^\]]*\]", "", body)
        used |= set(re.findall(r"[a-z][a-z0-9-]*", body))
    return defined, used


def test_generic_gbnf_references_only_defined_rules():
    """Every rule the generic grammar uses is defined, and root exists."""
    defined, used = _rules(_derive.gbnf())
    assert "root" in defined
    assert used <= defined


def test_narrowed_gbnf_allows_only_registry_names_in_their_roles():
    """The narrowed grammar lists notes, conditions, merges and handlers in their own rules."""
    g = grammar_for(registry())
    assert 'r-condition ::= "is_express"' in g
    assert 'r-handler ::= "report_failure"' in g
    assert 'r-merge ::= "merge_payment"' in g
    assert 'r-cadence ::= "payment_flow"' in g
    note_rule = next(line for line in g.splitlines() if line.startswith("r-note ::="))
    assert '"load_order"' in note_rule and "is_express" not in note_rule
    defined, used = _rules(g)
    assert used <= defined


def test_methods_without_fillers_are_left_out():
    """Without a child cadence or handler in the registry, child and on_error cannot be written."""
    reg = {k: v for k, v in registry().items() if k in ("load_order", "fetch_prices")}
    g = grammar_for(reg)
    assert "m-child" not in g and "m-on-error" not in g and "m-split" not in g
    assert "m-then" in g and "m-sync" in g


def test_explicit_roles_override_inference():
    """A name given an explicit role moves to that role's rule."""
    g = grammar_for(registry(), roles={"fetch_stock": "condition"})
    cond = next(line for line in g.splitlines() if line.startswith("r-condition ::="))
    assert '"fetch_stock"' in cond


def test_narrowed_schema_uses_enums():
    """The narrowed plan schema restricts each slot to the names of its role."""
    schema = plan_schema_for(registry())
    variants = {
        v["properties"]["kind"]["const"]: v for v in schema["properties"]["steps"]["items"]["anyOf"]
    }
    assert variants["split"]["properties"]["condition"]["enum"] == ["is_express"]
    assert "load_order" in variants["then"]["properties"]["task"]["enum"]


def test_plan_values_cannot_inject_code():
    """A plan whose names are code is rendered as string literals, which the validator rejects."""
    plan = {
        "name": "x",
        "steps": [{"kind": "then", "name": "a", "task": "__import__('os').system('id')"}],
    }
    source = _derive.plan_to_source(plan)
    assert "__import__('os')" not in source.replace("\"__import__('os')", "")
    diags = check_source(source, registry=registry(), mode="composition")
    assert any(d.is_error for d in diags)


def test_plan_with_unknown_method_is_named_by_the_validator():
    """An invented method in a plan is kept so the validator suggests the right one."""
    plan = {"name": "x", "steps": [{"kind": "parallel", "name": "a", "tasks": ["load_order"]}]}
    diags = check_source(_derive.plan_to_source(plan), registry=registry(), mode="composition")
    assert any(d.code == "CAD101" for d in diags)


def test_optional_positional_after_a_missing_one_becomes_a_keyword():
    """A split plan with only if_false renders it as a keyword so it keeps its meaning."""
    plan = {
        "name": "x",
        "steps": [
            {
                "kind": "split",
                "name": "a",
                "condition": "is_express",
                "if_false": ["ship_standard"],
            }
        ],
    }
    assert "if_false=[ship_standard]" in _derive.plan_to_source(plan)
