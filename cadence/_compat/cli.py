"""0.7.2's per-command functions of ``cadence.cli``, each taking that version's parsed arguments.

Each one turns the ``argparse.Namespace`` 0.7.2's parser produced into the command line of
today's CLI; ``cadence.cli`` (where the names are reached) warns and runs that line through
:func:`cadence.cli.main`, so behaviour (messages, exit codes, the generated files) is the
CLI's, and the 0.7.2 output directories stay the defaults.

The line is built so that any value reads as a value: options as ``--name=value`` and the
positional arguments after ``--`` (a name or a fallback such as ``-x`` is not an option), and,
as in 0.7.2, an empty option (``retry=0``, ``timeout=0``, ``fallback=""``) is left out.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable

__all__ = [
    "diagram_command",
    "init_command",
    "new_cadence_command",
    "new_note_command",
    "validate_command",
]


def _opt(args: argparse.Namespace, name: str, flag: str) -> list[str]:
    value = getattr(args, name, None)
    # 0.7.2 tested these options for truth (``if args.retry:``): 0, 0.0 and "" meant "not given".
    return [f"{flag}={value}"] if value else []


def _force(args: argparse.Namespace) -> list[str]:
    return ["--force"] if getattr(args, "force", False) else []


def init_command(args: argparse.Namespace) -> list[str]:
    """``cadence init [directory] [--name NAME]``."""
    directory = getattr(args, "directory", None) or "."
    return ["init", *_opt(args, "name", "--name"), "--", str(directory)]


def new_cadence_command(args: argparse.Namespace) -> list[str]:
    """``cadence new cadence NAME [-o DIR] [-f]`` (``DIR`` defaults to ``cadences``, as in 0.7.2)."""
    output = getattr(args, "output", None) or "cadences"
    return ["new", "cadence", f"--output={output}", *_force(args), "--", str(args.name)]


def new_note_command(args: argparse.Namespace) -> list[str]:
    """``cadence new note NAME [-o DIR] [-f] [--retry N] [--timeout S] [--fallback V]``."""
    output = getattr(args, "output", None) or "notes"
    argv = ["new", "note", f"--output={output}", *_force(args)]
    for name in ("retry", "timeout", "fallback"):
        argv += _opt(args, name, f"--{name}")
    return [*argv, "--", str(args.name)]


def diagram_command(args: argparse.Namespace) -> list[str]:
    """``cadence diagram MODULE:ATTR [-f FORMAT] [-o FILE]``."""
    argv = ["diagram", *_opt(args, "format", "--format"), *_opt(args, "output", "--output")]
    return [*argv, "--", str(args.cadence)]


def validate_command(args: argparse.Namespace) -> list[str]:
    """``cadence validate MODULE[:ATTR]``."""
    return ["validate", "--", str(args.module)]


#: 0.7.2's command function -> how its arguments read as today's command line.
COMMANDS: dict[str, Callable[[argparse.Namespace], list[str]]] = {
    f.__name__: f
    for f in (
        init_command,
        new_cadence_command,
        new_note_command,
        diagram_command,
        validate_command,
    )
}
