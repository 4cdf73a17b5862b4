"""Turn an accepted composition into a real ``Cadence`` by looking names up in the registry.

Only reads the plain data :func:`parse_composition` produced; the text itself is never
executed. Registry values are the host's own trusted objects.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from cadence._cadence import Cadence
from cadence._merge import MergeStrategy
from cadence._validate._composition import Composition, Limits, Ref, StepSpec, parse_composition
from cadence._validate._diagnostics import Diagnostic
from cadence.exceptions import CadenceDefinitionError, ValidationError

__all__ = ["build"]


def _summary(diags: list[Diagnostic]) -> str:
    errors = [d for d in diags if d.is_error]
    first = errors[0].format() if errors else "invalid composition"
    more = f" (and {len(errors) - 1} more)" if len(errors) > 1 else ""
    return f"the composition was rejected: {first}{more}"


def _resolve(registry: Mapping[str, Any], value: Any) -> Any:
    if isinstance(value, Ref):
        return registry[value.name]
    if isinstance(value, tuple):
        return [registry[r.name] for r in value]
    return value


def _apply(cadence: Cadence[Any], step: StepSpec, registry: Mapping[str, Any]) -> None:
    a = {k: _resolve(registry, v) for k, v in step.args.items()}
    if step.method == "then":
        cadence.then(a["name"], a["task"], can_interrupt=bool(a.get("can_interrupt", False)))
    elif step.method == "sync":
        strategy = a.get("merge_strategy")
        if isinstance(strategy, str):
            strategy = getattr(MergeStrategy, strategy)
        cadence.sync(a["name"], a["tasks"], merge_strategy=strategy)
    elif step.method == "split":
        cadence.split(a["name"], a["condition"], a["if_true"], a.get("if_false"))
    elif step.method == "child":
        cadence.child(a["name"], a["cadence"], a["merge"], score=a.get("score"))
    elif step.method == "map":
        cadence.map(
            a["name"],
            a["items_from"],
            a["fn"],
            concurrency=a.get("concurrency"),
            into=a.get("into"),
            on_error=a.get("on_error", "fail_fast"),
            errors_into=a.get("errors_into"),
        )
    elif step.method == "on_error":
        cadence.on_error(a["handler"], stop=bool(a.get("stop", True)))
    else:  # pragma: no cover - the reader only accepts the methods above
        raise AssertionError(step.method)


def build(
    text: str,
    registry: Mapping[str, Any],
    *,
    score: Any,
    score_name: str = "score",
    limits: Limits | None = None,
) -> Cadence[Any]:
    """Check ``text`` in composition mode and interpret it into a ``Cadence``.

    Args:
        text: One cadence expression, e.g. ``Cadence("rag", score).then("answer", answer)``.
        registry: Allowed names -> note functions, conditions, merges, or child ``Cadence``\\ s.
        score: The score the built cadence runs on by default (``score`` in the text).
        score_name: The placeholder name the text uses for the score.
        limits: Size limits for the untrusted text.

    Raises:
        ValidationError: The text is not an accepted composition; ``.diagnostics`` says why.
    """
    if not isinstance(registry, Mapping):
        raise TypeError(
            f"build() needs a registry mapping names to functions, got {type(registry).__name__}; "
            'e.g. {"search_docs": search_docs}'
        )
    comp, diags = parse_composition(text, registry, score_name=score_name, limits=limits)
    if comp is None or any(d.is_error for d in diags):
        raise ValidationError(_summary(diags), diags)
    return _construct(comp, registry, score)


def _construct(comp: Composition, registry: Mapping[str, Any], score: Any) -> Cadence[Any]:
    cadence: Cadence[Any] = Cadence(comp.name, score)
    for step in comp.steps:
        try:
            _apply(cadence, step, registry)
        except CadenceDefinitionError as exc:
            # A handler that cannot take (score, error) is refused by .on_error itself now:
            # the same finding the validator's CAD603 (bad-callable) reports.
            code = "CAD603" if step.method == "on_error" else "CAD204"
            diag = Diagnostic(code, "error", step.line, 0, exc.message, "check the registry entry")
            raise ValidationError(_summary([diag]), [diag]) from exc
    return cadence
