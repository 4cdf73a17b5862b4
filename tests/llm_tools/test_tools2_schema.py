"""@tool schemas: parameters named like pydantic members, NumPy and Sphinx docstrings."""

from __future__ import annotations

import warnings

import pytest

from cadence import CadenceDefinitionError
from cadence_llm import Tool, ToolArgumentsError, ToolBox, ToolCall, tool
from cadence_llm._tool_schema import parse_docstring


def lookup_table(table: str, model_config: str, _private: int = 0) -> str:
    """Look a table up.

    Args:
        table: The table.
        model_config: Which model configuration.
    """
    return f"{table}:{model_config}:{_private}"


@pytest.fixture
def lookup() -> Tool:
    """The tool, made per test (on a failure each test reports it)."""
    return tool(lookup_table)


def test_parameters_named_like_basemodel_members_are_in_the_schema(lookup: Tool) -> None:
    """model_config and _private are arguments like any other, not silently dropped."""
    props = lookup.parameters["properties"]
    assert list(props) == ["table", "model_config", "_private"]
    assert lookup.parameters["required"] == ["table", "model_config"]
    assert props["model_config"] == {"type": "string", "description": "Which model configuration."}
    assert props["_private"] == {"type": "integer", "default": 0}


def test_such_parameters_define_without_warnings() -> None:
    """schema, json and copy define without warnings (a suite with warnings as errors can)."""
    with warnings.catch_warnings():
        warnings.simplefilter("error")

        @tool
        def query(schema: str, json: bool, copy: bool = False) -> str:
            return f"{schema}:{json}:{copy}"

    assert list(query.parameters["properties"]) == ["schema", "json", "copy"]
    assert query.fn(**query.validate('{"schema": "s", "json": true}')) == "s:True:False"


async def test_such_parameters_reach_the_function(lookup: Tool) -> None:
    """The model's arguments arrive under the parameters' own names."""
    args = '{"table": "users", "model_config": "m", "_private": 3}'
    [out] = await ToolBox([lookup]).run([ToolCall(id="a", name="lookup_table", arguments=args)])
    assert out.ok and out.value == "users:m:3"
    with pytest.raises(ToolArgumentsError, match="model_config: Field required"):
        lookup.validate('{"table": "users"}')


def test_numpy_docstring_describes_the_parameters() -> None:
    """A NumPy-style docstring gives the summary as description and each parameter's text."""

    @tool
    def convert(amount: float, source: str, target: str) -> float:
        """Convert money between currencies.

        Parameters
        ----------
        amount : float
            How much to convert,
            in the source currency.
        source, target : str
            ISO currency codes.

        Returns
        -------
        float
            The converted amount.
        """
        return amount

    assert convert.description == "Convert money between currencies."
    props = convert.parameters["properties"]
    assert props["amount"]["description"] == "How much to convert, in the source currency."
    assert props["source"]["description"] == props["target"]["description"] == "ISO currency codes."


def test_sphinx_docstring_describes_the_parameters() -> None:
    """``:param x:`` fields describe parameters and are left out of the description."""
    summary, args = parse_docstring(
        """Refund an order.

        :param order: The order number,
            as printed on the receipt.
        :param int cents: How much to refund.
        :type cents: int
        :returns: A confirmation.
        """
    )
    assert summary == "Refund an order."
    assert args == {
        "order": "The order number, as printed on the receipt.",
        "cents": "How much to refund.",
    }


def test_google_sections_beyond_args_stay_out_of_the_description() -> None:
    """Keyword Args describe parameters; Attributes, See Also and Warning end the summary."""
    summary, args = parse_docstring(
        """Search.

        Keyword Args:
            limit: At most this many.

        Warning:
            Slow.
        """
    )
    assert summary == "Search." and args == {"limit": "At most this many."}


def test_a_type_defined_below_the_tool_is_named_in_the_error() -> None:
    """A hint naming a class defined after the tool says to define it above the tool."""

    def use(item: NotYetDefined) -> None:  # type: ignore[name-defined]  # noqa: F821
        return None

    with pytest.raises(CadenceDefinitionError, match="above the tool"):
        tool(use)
