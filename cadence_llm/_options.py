"""Checking ``options=`` (extra ``ModelRequest`` fields) when a note is built, not at its first call.

A misspelt option used to surface at the first model call as a raw pydantic ``ValidationError``;
here it raises :class:`~cadence.exceptions.CadenceDefinitionError` naming the field, the closest
real one and what is allowed.
"""

from __future__ import annotations

import difflib
from collections.abc import Collection, Mapping
from typing import Any

from pydantic import ValidationError

from cadence.exceptions import CadenceDefinitionError

from .messages import ModelRequest, UserMessage

__all__ = ["request_options"]


def request_options(
    options: Mapping[str, Any] | None, *, where: str, reserved: Collection[str] = ("messages",)
) -> dict[str, Any]:
    """``options`` as a dict, checked against ``ModelRequest``'s fields and value types.

    Args:
        options: The user's options (``temperature``, ``max_tokens``...).
        where: Who takes them, for the message (``"agent 'research'"``).
        reserved: Fields the caller sets itself, which options may not carry.

    Raises:
        CadenceDefinitionError: an unknown or reserved field, or an invalid value.
    """
    if options is None:
        return {}
    if not isinstance(options, Mapping):
        raise CadenceDefinitionError(
            f"{where}: options must be a mapping of ModelRequest fields, got {options!r}"
        )
    opts = dict(options)
    allowed = [name for name in ModelRequest.model_fields if name not in reserved]
    for key in opts:
        if key in reserved:
            raise CadenceDefinitionError(
                f"{where}: options cannot set {key!r}, which {where} builds itself"
            )
        if key not in allowed:
            close = difflib.get_close_matches(str(key), allowed, n=1)
            hint = f"; did you mean {close[0]!r}?" if close else ""
            raise CadenceDefinitionError(
                f"{where}: options has no field {key!r}{hint} (allowed: {', '.join(allowed)})"
            )
    try:
        ModelRequest(messages=(UserMessage(content=""),), **opts)
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}"
            for e in exc.errors(include_url=False)
        )
        raise CadenceDefinitionError(f"{where}: invalid options: {problems}") from None
    return opts
