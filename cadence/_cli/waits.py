"""``cadence waits | resume | signal | wake``: parked runs from the command line.

Every command takes the cadence as ``module:attribute`` (its checkpoint store holds the runs)
and prints JSON on stdout. Exit codes: 0 done, 1 refused or failed (one line on stderr), 3 the
run is parked at a wait (its waits are printed).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from collections.abc import Callable, Coroutine
from typing import Any

from cadence._cli.running import UserError, to_jsonable

__all__ = ["PARKED", "add_parsers", "parked_output"]

PARKED = 3
"""Exit code of a command whose run parked at a wait."""


def _json_value(text: str | None, option: str) -> Any:
    if text is None:
        return None
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise UserError(
            f"{option} is not valid JSON: {exc.msg} at column {exc.colno} "
            """(fix: quote it for the shell, e.g. --value '{"approved": true}' or --value true)"""
        ) from None


def parked_output(exc: Any, target: str) -> int:
    """Print a parked run's waits and how to continue it; return :data:`PARKED`."""
    print(json.dumps(exc.details, indent=2, default=str))
    keys = ", ".join(w.key for w in exc.waits)
    sys.stderr.write(
        f"cadence: run {exc.run_id} is waiting on {keys}; continue it with "
        f"`cadence resume {target} {exc.run_id} --value ...`\n"
    )
    return PARKED


def _outcome(target: str, call: Coroutine[Any, Any, Any], *, quiet_none: str = "") -> int:
    from cadence.exceptions import CadenceError, RunSuspended

    try:
        result = asyncio.run(call)
    except RunSuspended as exc:
        return parked_output(exc, target)
    except CadenceError as exc:
        raise UserError(f"{exc} (fix: `cadence waits {target}` lists what is waiting)") from None
    if result is None and quiet_none:
        print(json.dumps({"status": quiet_none}))
        return 0
    print(json.dumps(to_jsonable(result), indent=2, default=str))
    return 0


def _cmd_waits(args: argparse.Namespace, load: Callable[[str], Any]) -> int:
    from cadence.exceptions import CadenceError

    cadence = load(args.target)
    try:
        records = asyncio.run(cadence.waits(args.run))
    except CadenceError as exc:
        raise UserError(f"{exc}") from None
    print(json.dumps([r.to_dict() for r in records], indent=2))
    return 0


def _cmd_resume(args: argparse.Namespace, load: Callable[[str], Any]) -> int:
    cadence = load(args.target)
    value = _json_value(args.value, "--value")
    return _outcome(args.target, cadence.resume(args.run_id, value, wait=args.wait))


def _cmd_signal(args: argparse.Namespace, load: Callable[[str], Any]) -> int:
    cadence = load(args.target)
    value = _json_value(args.value, "--value")
    call = cadence.signal(args.run_id, args.name, value)
    return _outcome(args.target, call, quiet_none="signal_kept")


def _cmd_wake(args: argparse.Namespace, load: Callable[[str], Any]) -> int:
    from cadence.exceptions import CadenceError

    cadence = load(args.target)
    try:
        woken = asyncio.run(cadence.wake_due(limit=args.limit))
    except CadenceError as exc:  # e.g. no checkpoint store: one line, like `cadence waits`
        raise UserError(f"{exc}") from None
    print(json.dumps({"woken": woken}))
    return 0


def add_parsers(sub: Any, load: Callable[[str], Any]) -> None:
    """Add the four subcommands to the ``cadence`` parser; ``load`` imports a target."""

    def bind(fn: Callable[[argparse.Namespace, Callable[[str], Any]], int]) -> Any:
        return lambda args: fn(args, load)

    target_help = "module:attribute of the cadence, e.g. myapp.cadences:refund"
    waits = sub.add_parser("waits", help="list the waits of parked runs (JSON)")
    waits.add_argument("target", help=target_help)
    waits.add_argument("--run", metavar="RUN_ID", help="only this run")
    waits.set_defaults(func=bind(_cmd_waits))

    resume = sub.add_parser("resume", help="resume a parked run with a value, exactly once")
    resume.add_argument("target", help=target_help)
    resume.add_argument("run_id", help="the parked run's id")
    resume.add_argument(
        "--value", help='JSON value; an approval takes true, false or {"approved": ...}'
    )
    resume.add_argument("--wait", metavar="KEY", help="which wait, when the run has several")
    resume.set_defaults(func=bind(_cmd_resume))

    signal = sub.add_parser("signal", help="send a named signal to a run")
    signal.add_argument("target", help=target_help)
    signal.add_argument("run_id", help="the run's id")
    signal.add_argument("name", help="the signal's name")
    signal.add_argument("--value", help="JSON value sent with the signal")
    signal.set_defaults(func=bind(_cmd_signal))

    wake = sub.add_parser("wake", help="continue runs whose sleep ended or wait timed out")
    wake.add_argument("target", help=target_help)
    wake.add_argument("--limit", type=int, help="at most this many runs")
    wake.set_defaults(func=bind(_cmd_wake))
