"""Diagnostics: what the checker reports, with stable codes, positions and a fix hint.

Codes never change meaning once released, so editors, CI filters and the code-generation
repair loop can key on them; messages may be reworded.
"""

from __future__ import annotations

import ast
import difflib
from collections.abc import Iterable
from dataclasses import asdict, dataclass
from typing import Any, Literal

__all__ = ["CODES", "Diagnostic", "Severity", "at", "nearest", "show", "syntax_diagnostic"]

Severity = Literal["error", "warning", "info"]

#: Every diagnostic code with its short slug and default severity.
CODES: dict[str, tuple[str, Severity]] = {
    "CAD000": ("internal-error", "error"),
    "CAD001": ("syntax-error", "error"),
    "CAD002": ("input-too-large", "error"),
    "CAD101": ("unknown-method", "error"),
    "CAD102": ("bad-step-name", "error"),
    "CAD103": ("bad-arguments", "error"),
    "CAD104": ("sync-needs-list", "error"),
    "CAD105": ("split-needs-condition", "error"),
    "CAD106": ("child-needs-merge", "error"),
    "CAD107": ("duplicate-step-name", "error"),
    "CAD108": ("bad-cadence-name", "error"),
    "CAD109": ("listed-twice", "warning"),
    "CAD110": ("on-error-replaced", "warning"),
    "CAD201": ("undefined-note", "error"),
    "CAD202": ("note-signature", "error"),
    "CAD203": ("note-called", "error"),
    "CAD204": ("wrong-kind", "error"),
    "CAD301": ("unknown-note-option", "error"),
    "CAD302": ("bad-retry", "error"),
    "CAD303": ("bad-timeout", "error"),
    "CAD304": ("bad-fallback", "error"),
    "CAD305": ("fallback-field-unknown", "error"),
    "CAD401": ("mutable-default", "error"),
    "CAD402": ("run-not-awaited", "error"),
    "CAD403": ("blocking-call-in-async", "warning"),
    "CAD501": ("forbidden-construct", "error"),
    "CAD502": ("forbidden-name", "error"),
    "CAD503": ("not-a-composition", "error"),
    "CAD601": ("import-failed", "error"),
    "CAD602": ("no-cadence-found", "warning"),
    "CAD603": ("bad-callable", "error"),
    "CAD604": ("score-not-encodable", "error"),
    "CAD605": ("child-cycle", "error"),
    # Reported by `cadence validate MODULE` only (a cadence the command imported has no steps).
    "CAD606": ("empty-cadence", "error"),
    # Generated compositions (cadence_llm.codegen): task grounding (advisory) and notes.
    "CAD701": ("step-not-in-task", "warning"),
    "CAD702": ("task-part-missing", "warning"),
    "CAD703": ("method-differs-from-task", "warning"),
    "CAD704": ("option-differs-from-task", "warning"),
    "CAD705": ("step-renamed", "info"),
    "CAD706": ("no-step", "error"),
}


@dataclass(frozen=True, slots=True)
class Diagnostic:
    """One finding: ``code`` (stable, e.g. ``"CAD101"``), where it is, what is wrong, how to fix.

    ``line`` and ``column`` are 1-based (as editors show them); ``column`` 0 means "the whole
    line". ``hint`` is a concrete fix, often a corrected snippet.
    """

    code: str
    severity: Severity
    line: int
    column: int
    message: str
    hint: str = ""
    end_line: int | None = None
    end_column: int | None = None
    source: str = ""

    @property
    def slug(self) -> str:
        """The code's readable name, e.g. ``"unknown-method"``."""
        return CODES.get(self.code, ("unknown", "error"))[0]

    @property
    def is_error(self) -> bool:
        """Whether this diagnostic fails validation (warnings do not)."""
        return self.severity == "error"

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict (used by ``cadence validate --json``)."""
        out = asdict(self)
        out["slug"] = self.slug
        return out

    def format(self) -> str:
        """One line ``source:line:col: CODE severity: message (fix: hint)``."""
        where = f"{self.source or '<string>'}:{self.line}:{self.column}"
        fix = f" (fix: {self.hint})" if self.hint else ""
        return f"{where}: {self.code} {self.severity}: {self.message}{fix}"

    def __str__(self) -> str:
        return self.format()


def at(
    node: ast.AST | None,
    code: str,
    message: str,
    hint: str = "",
    *,
    severity: Severity | None = None,
) -> Diagnostic:
    """Make a diagnostic positioned at ``node`` (or line 1 when there is no node)."""
    sev: Severity = severity or CODES[code][1]
    if node is None:
        return Diagnostic(code, sev, 1, 0, message, hint)
    line = getattr(node, "lineno", 1) or 1
    col = getattr(node, "col_offset", -1)
    end_line = getattr(node, "end_lineno", None)
    end_col = getattr(node, "end_col_offset", None)
    return Diagnostic(
        code,
        sev,
        line,
        col + 1,
        message,
        hint,
        end_line,
        None if end_col is None else end_col + 1,
    )


def show(value: Any, limit: int = 60) -> str:
    """``repr(value)`` for a message, short and never failing.

    Literals come from the checked text: a 15,000-digit integer has no ``repr`` under Python's
    int-to-str limit, and a 5 MB string would swamp the message.
    """
    if isinstance(value, int) and not isinstance(value, bool) and value.bit_length() > 200:
        return f"<an integer of about {int(value.bit_length() * 0.30103) + 1:,} digits>"
    text = repr(value)
    return text if len(text) <= limit else f"{text[: limit - 3]}..."


def nearest(word: str, choices: Iterable[str], *, cutoff: float = 0.6) -> str | None:
    """The closest spelling among ``choices`` (for "did you mean" hints), or ``None``."""
    found = difflib.get_close_matches(word, list(choices), n=1, cutoff=cutoff)
    return found[0] if found else None


def syntax_diagnostic(exc: SyntaxError) -> Diagnostic:
    """A ``CAD001`` diagnostic at the position Python reported for ``exc``."""
    line = exc.lineno or 1
    col = exc.offset or 0
    return Diagnostic(
        "CAD001",
        "error",
        line,
        col,
        f"syntax error: {exc.msg}",
        "fix the Python syntax at this position",
    )
