"""Helpers of ``cadence run``: the score from ``--score`` JSON, JSON output, live progress."""

from __future__ import annotations

import copy
import dataclasses
import json
from pathlib import Path
from typing import Any

__all__ = ["Progress", "UserError", "score_for", "to_jsonable"]


class UserError(Exception):
    """A mistake the user can fix; printed as ``cadence: error: ... (fix: ...)``."""


def score_for(template: Any, raw: str | None) -> Any:
    """The score to run on: a copy of ``template`` with the fields of ``raw`` (JSON or @file)."""
    if raw is None:
        return None
    if raw.startswith("@"):
        try:
            raw = Path(raw[1:]).read_text(encoding="utf-8")
        except OSError as exc:
            raise UserError(
                f"cannot read {raw[1:]}: {exc.strerror} (fix: check the path after @)"
            ) from None
    try:
        data = json.loads(raw)
    except json.JSONDecodeError as exc:
        raise UserError(
            f"--score is not valid JSON: {exc.msg} at column {exc.colno} "
            """(fix: quote it for the shell, e.g. --score '{"query": "hi"}')"""
        ) from None
    if not isinstance(data, dict):
        raise UserError(
            f"--score must be a JSON object, got {type(data).__name__} (fix: --score '{{\"field\": value}}')"
        )
    if template is None:
        raise UserError(
            "the cadence has no default score to update (fix: build it with Cadence(name, score))"
        )
    if dataclasses.is_dataclass(template) and not isinstance(template, type):
        names = {f.name for f in dataclasses.fields(template) if f.init}
        unknown = sorted(set(data) - names)
        if unknown:
            raise UserError(
                f"{type(template).__name__} has no field {unknown[0]!r} (fix: fields are {', '.join(sorted(names))})"
            )
        try:
            return dataclasses.replace(copy.deepcopy(template), **data)
        except (TypeError, ValueError) as exc:  # __post_init__ or a field rejected a value
            raise UserError(
                f"{type(template).__name__} refused --score: {type(exc).__name__}: {exc} "
                "(fix: check the values' types)"
            ) from None
    if hasattr(template, "model_validate") and hasattr(template, "model_dump"):
        try:
            return type(template).model_validate({**template.model_dump(), **data})
        except (TypeError, ValueError) as exc:  # pydantic's ValidationError is a ValueError
            first = str(exc).splitlines()
            raise UserError(
                f"{type(template).__name__} refused --score: {' '.join(first[:3])} "
                "(fix: check the values' types)"
            ) from None
    if isinstance(template, dict):
        return {**copy.deepcopy(template), **data}
    score = copy.deepcopy(template)
    for key, value in data.items():
        if not hasattr(score, key):
            raise UserError(
                f"{type(template).__name__} has no attribute {key!r} (fix: check the field names)"
            )
        setattr(score, key, value)
    return score


def to_jsonable(value: Any, depth: int = 0) -> Any:
    if depth > 50:
        return repr(value)
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {
            f.name: to_jsonable(getattr(value, f.name), depth + 1)
            for f in dataclasses.fields(value)
        }
    if hasattr(value, "model_dump"):
        return value.model_dump(mode="json")
    if hasattr(value, "get_all"):
        return to_jsonable(value.get_all(), depth + 1)
    if isinstance(value, dict):
        return {str(k): to_jsonable(v, depth + 1) for k, v in value.items()}
    if isinstance(value, (list, tuple, set, frozenset)):
        return [to_jsonable(v, depth + 1) for v in value]
    return str(value)


class Progress:
    """Prints each step as it starts and ends (stderr), for ``cadence run`` on a terminal."""

    def __init__(self, stream: Any) -> None:
        self.stream = stream

    async def before_cadence(self, cadence_name: str, score: Any) -> None:
        self.stream.write(f"▶ {cadence_name}\n")

    async def before_note(self, note_name: str, score: Any) -> None:
        self.stream.write(f"  … {note_name}\n")

    async def after_note(
        self, note_name: str, score: Any, duration: float, error: BaseException | None = None
    ) -> None:
        mark = "✗" if error is not None else "✓"
        self.stream.write(f"  {mark} {note_name} ({duration * 1000:.1f} ms)\n")

    async def on_retry(
        self, note_name: str, score: Any, attempt: int, max_attempts: int, error: BaseException
    ) -> None:
        self.stream.write(f"  ↻ {note_name}: attempt {attempt}/{max_attempts} failed: {error}\n")

    async def after_cadence(
        self, cadence_name: str, score: Any, duration: float, error: BaseException | None = None
    ) -> None:
        status = "failed" if error is not None else "done"
        self.stream.write(f"■ {cadence_name} {status} in {duration * 1000:.1f} ms\n")
