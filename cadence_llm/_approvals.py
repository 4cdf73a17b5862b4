"""Tools that need approval: the call waits for a person's decision before it runs.

A tool marked ``@tool(needs_approval=True)`` (or with a predicate over its arguments) does not
run when the model calls it. Before any call of the turn runs, :func:`decide` asks for an
:class:`~cadence.Approval` through :func:`cadence.wait_for`, keyed by the call id: the first
time, the run parks (``run()`` raises ``RunSuspended``; the process may exit); once the run is
resumed with a decision, the turn runs again from its recorded model answer, the same key
finds the decision, and the call runs with the arguments as approved (the approver may edit
them) or answers the model with a rejection it can read. The decision is kept in the run's
wait records, so it is read, never asked again, however often the turn runs.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

from cadence.exceptions import CadenceDefinitionError, CadenceError, WaitError, WaitTimedOut

from .messages import ToolCall

if TYPE_CHECKING:
    from .tools import Tool

__all__ = ["ToolArgumentsError", "ToolRejectedError", "approval_rule", "decide"]


class ToolArgumentsError(CadenceError):
    """The model's arguments for a tool are not valid JSON or do not match its schema."""

    default_code = "TOOL_ARGUMENTS"
    __module__ = "cadence_llm.tools"  # where users import it from (defined here: no import loop)


class ToolRejectedError(CadenceError):
    """A call of a tool needing approval was rejected (or not decided before its timeout).

    The model reads it as the call's error result and may answer or try something else.
    """

    default_code = "TOOL_REJECTED"


def approval_rule(needs_approval: Any, tool_name: str) -> Callable[[dict[str, Any]], bool] | None:
    """``needs_approval=`` as a predicate over the call's arguments (``None``: never asks)."""
    if needs_approval is None or needs_approval is False:
        return None
    if needs_approval is True:
        return lambda _: True
    if callable(needs_approval):
        rule: Callable[[dict[str, Any]], bool] = needs_approval
        return rule
    raise CadenceDefinitionError(
        f"tool {tool_name!r}: needs_approval must be True/False or a function of the call's "
        f"arguments returning a bool (needs_approval=lambda args: args['amount'] > 100), "
        f"got {needs_approval!r}"
    )


def _arguments(call: ToolCall) -> Any:
    try:
        return json.loads(call.arguments.strip() or "{}")
    except ValueError:  # validated already; a given schema may take what json.loads refuses
        return call.arguments


async def decide(
    tool: Tool, call: ToolCall, kwargs: dict[str, Any], prefix: str
) -> dict[str, Any] | ToolRejectedError:
    """The arguments to run ``call`` with, or the rejection to answer the model with.

    Parks the run (through ``cadence.wait_for``) until someone decides; the wait's key is
    ``"<prefix>:<call id>"`` and its payload ``{"tool", "call_id", "arguments"}``.

    Raises:
        WaitError: not inside a checkpointed run (``WAIT_UNSUPPORTED``), naming the tool.
        CadenceError: the tool's ``needs_approval`` function raised (``APPROVAL_RULE_FAILED``).
        ToolArgumentsError: the approver's edited arguments do not validate.
    """
    rule = tool.approval
    if rule is None:
        return kwargs
    try:
        asks = rule(kwargs)
    except Exception as exc:
        # A bare KeyError from deep inside the turn would name neither the tool nor the rule.
        raise CadenceError(
            f"tool {tool.name!r}: its needs_approval function failed on the arguments "
            f"{kwargs!r} ({type(exc).__name__}: {exc}); make it return a bool for every valid "
            "call (optional arguments arrive as their defaults, e.g. None)",
            code="APPROVAL_RULE_FAILED",
            details={"tool": tool.name, "call_id": call.id},
        ) from exc
    if not asks:
        return kwargs
    from cadence import Approval, wait_for  # cadence loads its waits on first use; so do we

    key = f"{prefix}:{call.id}"
    payload = {"tool": tool.name, "call_id": call.id, "arguments": _arguments(call)}
    try:
        decision = await wait_for(Approval(payload), key=key, timeout=tool.approval_timeout)
    except WaitTimedOut:
        return ToolRejectedError(
            f"the call to {tool.name!r} was not approved: nobody decided within "
            f"{tool.approval_timeout:g} s",
            details={"tool": tool.name, "call_id": call.id, "timed_out": True},
        )
    except WaitError as exc:
        if exc.code != "WAIT_UNSUPPORTED":
            raise
        raise WaitError(
            f"tool {tool.name!r} needs approval, so its calls can only run in a checkpointed run "
            "that can be parked and resumed: give the agent checkpoint=SQLiteCheckpointStore("
            f"'runs.db') (or run it inside a cadence with .with_checkpoint(...)); {exc.message}",
            code="WAIT_UNSUPPORTED",
            details={"tool": tool.name, "wait": key},
        ) from exc
    if not decision.approved:
        who = f" by {decision.by}" if decision.by else ""
        why = f": {decision.reason}" if decision.reason else ""
        return ToolRejectedError(
            f"the call to {tool.name!r} was rejected{who}{why}",
            details={"tool": tool.name, "call_id": call.id, "by": decision.by},
        )
    edited = decision.payload
    arguments = edited.get("arguments") if isinstance(edited, Mapping) else None
    if arguments is None:
        return kwargs  # approved as asked (a payload without arguments changes nothing)
    if not isinstance(arguments, Mapping | str):
        # Running the call as the model asked would drop the approver's edit unseen.
        raise ToolArgumentsError(
            f"the approval of the call to {tool.name!r} edited its arguments to "
            f"{type(arguments).__name__} {arguments!r}; give payload['arguments'] as an object "
            "(or its JSON text)",
            details={"tool": tool.name, "call_id": call.id},
        )
    # Edited arguments (an object, or its JSON text as a form sends it) are checked like the
    # model's.
    return tool.validate(arguments)
