"""The ``"json"`` tool mode: tool calls as one schema-constrained JSON object per turn.

Small local models rarely speak a provider's tool-calling protocol, but with constrained
decoding they always produce JSON that matches a schema. Each turn therefore asks for
``{"tool_calls": [{"name": ..., "arguments": {...}}], "answer": "..."}`` where every item must
match one tool's name and argument schema; an empty ``tool_calls`` means the answer is final.
Tool results go back as a user message, since such models have no tool role either.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

from .messages import Message, ModelRequest, ResponseFormat, SystemMessage, ToolCall, UserMessage
from .tools import ToolBox, ToolOutcome

__all__ = ["json_mode_request", "json_mode_schema", "parse_json_turn", "results_message"]


def json_mode_schema(
    toolbox: ToolBox, choice: str | None, answer: dict[str, Any] | None = None
) -> dict[str, Any]:
    """The schema of one turn's answer; ``choice`` as ``ModelRequest.tool_choice``.

    ``answer`` is the schema of the final answer (a string by default; an agent's
    ``output_type`` otherwise), so constrained decoding also shapes the typed output.
    """
    answer_schema: dict[str, Any] = dict(answer) if answer is not None else {"type": "string"}
    defs: dict[str, Any] = dict(answer_schema.pop("$defs", None) or {})
    if choice == "none" or len(toolbox) == 0:
        final: dict[str, Any] = {
            "type": "object",
            "properties": {"answer": answer_schema},
            "required": ["answer"],
        }
        if defs:
            final["$defs"] = defs
        return final
    options = []
    for t in toolbox:
        if choice not in (None, "auto", "required") and t.name != choice:
            continue
        params = dict(t.parameters)
        params, own = _apart(params, dict(params.pop("$defs", None) or {}), defs, t.name)
        defs.update(own)
        options.append(
            {
                "type": "object",
                "properties": {"name": {"const": t.name}, "arguments": params},
                "required": ["name", "arguments"],
            }
        )
    calls: dict[str, Any] = {"type": "array", "items": {"anyOf": options}}
    if choice not in (None, "auto"):
        calls["minItems"] = 1
    if answer is not None:  # a typed answer is absent while the model still calls tools
        answer_schema = {"anyOf": [answer_schema, {"type": "string", "maxLength": 0}]}
    schema: dict[str, Any] = {
        "type": "object",
        "properties": {"tool_calls": calls, "answer": answer_schema},
        "required": ["tool_calls", "answer"],
    }
    if defs:
        schema["$defs"] = defs
    return schema


def _apart(
    params: dict[str, Any], own: dict[str, Any], defs: Mapping[str, Any], tool: str
) -> tuple[dict[str, Any], dict[str, Any]]:
    """A tool's parameters and ``$defs`` with each def that clashes with a different one of the
    same name (two tools' ``Options`` models) renamed, and the tool's references pointed at it.

    Renaming a def changes the defs that refer to it, so clashes are looked for again until
    none is left; defs equal to the ones already merged stay shared under their name.
    """
    names: dict[str, str] = {}
    while True:
        renamed = {names.get(n, n): _renamed(d, names) for n, d in own.items()}
        clashing = [
            n for n, d in own.items() if n not in names and n in defs and defs[n] != renamed[n]
        ]
        if not clashing:
            return _renamed(params, names), renamed
        taken = set(defs) | set(own) | set(names.values())
        for n in clashing:
            new, i = f"{n}__{tool}", 2
            while new in taken:
                new, i = f"{n}__{tool}_{i}", i + 1
            names[n] = new
            taken.add(new)


def _renamed(value: Any, names: Mapping[str, str]) -> Any:
    """``value`` with every ``#/$defs/<old>`` reference (or a path inside it) renamed."""
    if not names:
        return value
    if isinstance(value, Mapping):
        out = {k: _renamed(v, names) for k, v in value.items()}
        ref = out.get("$ref")
        if isinstance(ref, str) and ref.startswith("#/$defs/"):
            name, sep, rest = ref[len("#/$defs/") :].partition("/")
            if name in names:
                out["$ref"] = f"#/$defs/{names[name]}{sep}{rest}"
        return out
    if isinstance(value, list):
        return [_renamed(v, names) for v in value]
    return value


def _protocol(toolbox: ToolBox, choice: str | None) -> str:
    if choice == "none" or len(toolbox) == 0:
        return 'Give your final answer now as JSON: {"answer": "<your answer>"}.'
    lines = ["You can call these tools:"]
    for t in toolbox:
        params = json.dumps(t.parameters.get("properties", {}))
        lines.append(f"- {t.name}: {t.description or '(no description)'} Arguments: {params}")
    lines.append(
        'To call tools reply with JSON {"tool_calls": [{"name": "<tool>", "arguments": {...}}], '
        '"answer": ""}; their results come back in the next message. When you can answer, reply '
        '{"tool_calls": [], "answer": "<your answer>"}.'
    )
    return "\n".join(lines)


def json_mode_request(
    messages: Sequence[Message],
    toolbox: ToolBox,
    choice: str | None,
    options: Mapping[str, Any],
    answer: dict[str, Any] | None = None,
) -> ModelRequest:
    """The turn's request: the protocol joined to the system prompt, the schema as format."""
    protocol = _protocol(toolbox, choice)
    msgs = list(messages)
    if msgs and isinstance(msgs[0], SystemMessage):
        msgs[0] = SystemMessage(content=f"{msgs[0].content}\n\n{protocol}")
    else:
        msgs.insert(0, SystemMessage(content=protocol))
    schema = json_mode_schema(toolbox, choice, answer)
    fmt = ResponseFormat(type="json_schema", schema=schema, name="turn")
    return ModelRequest(messages=tuple(msgs), response_format=fmt, **dict(options))


def _load(text: str) -> Any:
    stripped = text.strip()
    for candidate in (stripped, stripped[stripped.find("{") : stripped.rfind("}") + 1]):
        try:
            return json.loads(candidate, strict=False)
        except ValueError:
            continue
    return None


_PROTOCOL_PROBLEM = (
    'is a JSON object without the protocol\'s shape: {"tool_calls": [{"name": "<tool>", '
    '"arguments": {...}}], "answer": "<your answer>"}'
)


def parse_json_turn(text: str, *, prefix: str) -> tuple[str, tuple[ToolCall, ...], str | None]:
    """The answer, the tool calls, and what was wrong with a JSON-mode reply (or ``None``).

    A reply that does not even start like JSON is taken as a plain-text answer (a model that
    ignored the protocol); one that starts like JSON but does not parse into the protocol's
    object (typically cut off by ``max_tokens``) is a problem to report back to the model, and
    so is an object that is not the protocol's (no ``"answer"`` and no calls, or a call that is
    not a ``{"name", "arguments"}`` object).
    """
    data = _load(text)
    if not isinstance(data, Mapping):
        if text.lstrip().startswith(("{", "[")):
            cut = (
                "was cut off before the JSON object ended"
                if data is None
                else "is not a JSON object"
            )
            return "", (), f"{cut} (raise max_tokens if this repeats)" if data is None else cut
        return text, (), None
    items = data.get("tool_calls")
    if items is None:
        items = []
    # A malformed call or a missing answer is sent back, never taken as an empty final answer
    # (which would end the run with "" and drop the calls the model meant to make).
    if not isinstance(items, list) or not all(
        isinstance(item, Mapping) and isinstance(item.get("name"), str) for item in items
    ):
        return "", (), _PROTOCOL_PROBLEM
    calls: list[ToolCall] = []
    for i, item in enumerate(items):
        args = item.get("arguments", {})
        arguments = args if isinstance(args, str) else json.dumps(args)
        calls.append(ToolCall(id=f"{prefix}_{i}", name=item["name"], arguments=arguments))
    answer = data.get("answer")
    if answer is None:
        return "", tuple(calls), None if calls else _PROTOCOL_PROBLEM
    text = answer if isinstance(answer, str) else json.dumps(answer, ensure_ascii=False)
    return text, tuple(calls), None


def results_message(outcomes: Sequence[ToolOutcome]) -> list[Message]:
    """The tool results as one user message, in call order."""
    items = [
        {"id": o.call.id, "tool": o.call.name, "ok": o.ok, "result": o.message.content}
        for o in outcomes
    ]
    return [UserMessage(content="Tool results:\n" + json.dumps(items, ensure_ascii=False))]
