"""Static checks for cadence code, and a safe builder for cadences written by models.

``check_source(text)`` reads a module's AST (it never imports or runs it) and reports
mistakes with a stable code, a position and a fix. ``check_source(text, mode="composition")``
accepts only a cadence expression over registry names — the mode for untrusted text — and
``build(text, registry, score=...)`` interprets such a composition into a ``Cadence`` without
``exec``, ``eval`` or ``compile``; ``parse_composition(text, registry)`` gives the checked
composition as plain data (``Composition`` of ``StepSpec`` calls whose note arguments are
``Ref`` s) for tools that read it, such as code generation. ``check_module("pkg.mod")`` imports the user's own module
and checks the built cadences it defines. See ``docs/validate.md``.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping
from pathlib import Path
from typing import Any, Literal

from cadence._validate._build import build
from cadence._validate._built import check_cadence, check_module
from cadence._validate._composition import (
    FILENAME,
    Composition,
    Limits,
    Ref,
    StepSpec,
    parse_composition,
)
from cadence._validate._diagnostics import CODES, Diagnostic, Severity, at
from cadence._validate._grammar import GRAMMAR, MERGE_STRATEGIES, METHODS, grammar_table
from cadence._validate._module import check_module_source
from cadence.exceptions import ValidationError

__all__ = [
    "CODES",
    "COMPOSITION_FILENAME",
    "GRAMMAR",
    "MERGE_STRATEGIES",
    "METHODS",
    "Composition",
    "Diagnostic",
    "Limits",
    "Ref",
    "Severity",
    "StepSpec",
    "ValidationError",
    "build",
    "check_cadence",
    "check_file",
    "check_module",
    "check_source",
    "grammar_table",
    "has_errors",
    "parse_composition",
]

#: The ``filename`` passed to ``ast.parse`` for compositions (visible to audit hooks).
COMPOSITION_FILENAME = FILENAME

Mode = Literal["module", "composition"]


def _names(registry: Collection[str] | Mapping[str, Any] | None) -> Collection[str]:
    if registry is None:
        return ()
    if isinstance(registry, (str, bytes)):
        raise TypeError(
            "registry must be a mapping or a collection of names, not a single string; "
            'e.g. registry=["search", "answer"]'
        )
    if not isinstance(registry, Collection):
        raise TypeError(
            f"registry must be a mapping or a collection of names, got {type(registry).__name__}"
        )
    return registry


def check_source(
    text: str,
    *,
    registry: Collection[str] | Mapping[str, Any] | None = None,
    mode: Mode = "module",
    filename: str = "<string>",
    score_name: str = "score",
    limits: Limits | None = None,
) -> list[Diagnostic]:
    """Check source text and return its diagnostics, sorted by position.

    Args:
        text: Python source (a module) or, in composition mode, one cadence expression.
        registry: Names the code may use without defining them (a mapping name -> object,
            or just the names). In composition mode, every referenced name must be in it;
            with a mapping, kinds are checked too (a child must be a ``Cadence``). Without
            a registry, composition mode checks the structure only, not the names.
        mode: ``"module"`` for files people write; ``"composition"`` for untrusted text.
        filename: Shown in each diagnostic's ``source``.
        score_name: Composition mode: the placeholder for the score (``Cadence("x", score)``).
        limits: Composition mode: size limits.

    Returns:
        Diagnostics (errors and warnings); an empty list means the text is clean.
    """
    if not isinstance(text, str):
        raise TypeError(f"check_source() needs the source as str, got {type(text).__name__}")
    if mode not in ("module", "composition"):
        raise ValueError(f'mode must be "module" or "composition", got {mode!r}')
    names = _names(registry)  # a caller's mistake: raised, not reported as CAD000
    try:
        if mode == "composition":
            _, diags = parse_composition(text, registry, score_name=score_name, limits=limits)
        else:
            diags = check_module_source(text, names, filename=filename)
    except RecursionError:
        diags = [at(None, "CAD002", "the input is too deeply nested to check", "flatten it")]
    except (
        Exception
    ) as exc:  # never crash an editor or CI on odd input; tests assert this is unreachable
        diags = [
            at(
                None,
                "CAD000",
                f"internal error in the checker: {type(exc).__name__}: {exc}",
                "please report this with the input",
            )
        ]
    out = [_with_source(d, filename) for d in diags]
    return sorted(out, key=lambda d: (d.line, d.column, d.code))


def _with_source(d: Diagnostic, filename: str) -> Diagnostic:
    if d.source:
        return d
    return Diagnostic(
        d.code, d.severity, d.line, d.column, d.message, d.hint, d.end_line, d.end_column, filename
    )


def check_file(
    path: str | Path,
    *,
    registry: Collection[str] | Mapping[str, Any] | None = None,
    mode: Mode = "module",
) -> list[Diagnostic]:
    """Read ``path`` (UTF-8) and :func:`check_source` it."""
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        return [
            Diagnostic(
                "CAD001",
                "error",
                1,
                0,
                f"the file is not UTF-8: {exc.reason}",
                "save it as UTF-8",
                source=str(p),
            )
        ]
    return check_source(text, registry=registry, mode=mode, filename=str(p))


def has_errors(diagnostics: Iterable[Diagnostic]) -> bool:
    """Whether any diagnostic is an error (warnings alone do not fail validation)."""
    return any(d.is_error for d in diagnostics)


_ = (
    CODES,
    GRAMMAR,
    METHODS,
    MERGE_STRATEGIES,
    grammar_table,
    build,
    check_cadence,
    check_module,
    ValidationError,
)
