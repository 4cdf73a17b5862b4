"""The ``cadence`` command line (also ``python -m cadence``): scaffold, draw, validate, run.

Stdlib only (argparse). User mistakes — a bad argument, a missing module, a cadence that
fails — are reported on stderr as one line with the fix, never as a traceback
(``cadence run --traceback`` shows one when you want it). Exit codes: 0 success, 1 a finding
or failure, 2 a usage error, 3 the run parked at a wait (``cadence resume`` continues it).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import math
import os
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, NoReturn

from cadence._cli.running import Progress, UserError, score_for, to_jsonable
from cadence._version import __version__

__all__ = ["main"]


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        sys.stderr.write(f"{self.prog}: error: {message} (fix: see `{self.prog} --help`)\n")
        raise SystemExit(2)


def _attempts(text: str) -> int:
    """``--retry N``: total attempts; 0 means no retry, as in 0.7.2."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"expected a whole number of attempts, got {text!r}"
        ) from None
    if value < 0:
        raise argparse.ArgumentTypeError(f"attempts must be >= 1 (or 0 for no retry), got {value}")
    return value


def _seconds(text: str) -> float:
    """``--timeout S``: seconds per attempt; 0 means no timeout, as in 0.7.2."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected seconds as a number, got {text!r}") from None
    if value != 0 and not (math.isfinite(value) and value > 0):
        raise argparse.ArgumentTypeError(
            f"the timeout must be > 0 seconds (or 0 for none), got {text}"
        )
    return value


def _use_cwd() -> None:
    """Let ``module:attr`` targets import from the current directory, like ``python -m``."""
    if "" not in sys.path and os.getcwd() not in sys.path:
        sys.path.insert(0, os.getcwd())


# -- init / new -------------------------------------------------------------------------------


def _cmd_init(args: argparse.Namespace) -> int:
    from cadence._cli.scaffold import init_project, write_files

    root = Path(args.dir)
    name = args.name or root.resolve().name
    # As in 0.7.2, init in a folder that already has some of the files adds the others.
    written, kept = write_files(root, init_project(name), force=args.force, keep_existing=True)
    for path in written:  # 0.7.2's wording, which scripts and tests may look for
        print(f"Created: {path}")
    for path in kept:
        print(f"Kept: {path} (it exists; --force overwrites it)")
    return 0


def _cmd_new(args: argparse.Namespace) -> int:
    from cadence._cli.scaffold import CADENCES_DIR, NOTES_DIR, cadence_file, note_file, write_files

    if args.kind is None:  # 0.7.2 returned 1 here rather than a usage error
        raise UserError(
            "say what to create (fix: cadence new cadence NAME, or cadence new note NAME)"
        )
    if args.kind == "cadence":
        filename, text, variable, score = cadence_file(args.name)
        made = [f"Score class: {score}", f"Cadence variable: {variable}"]
    else:
        filename, text = note_file(
            args.name, retry=args.retry, timeout=args.timeout, fallback=args.fallback
        )
        made = [f"Function: {Path(filename).stem}"]
    output = args.output or (CADENCES_DIR if args.kind == "cadence" else NOTES_DIR)
    written, _ = write_files(Path(output), {filename: text}, force=args.force)
    for path in written:  # 0.7.2's wording, which scripts and tests may look for
        print(f"Created: {path}")
    print("\n".join(made))
    return 0


# -- diagram ----------------------------------------------------------------------------------


def _cmd_diagram(args: argparse.Namespace) -> int:
    from cadence import diagram

    _use_cwd()
    cadence = _load(args.target)
    if args.format in ("svg", "png"):
        data = diagram.render(cadence, format=args.format)
        if args.output is None:
            sys.stdout.buffer.write(data)
        else:
            Path(args.output).write_bytes(data)
            print(f"wrote {args.output}")
        return 0
    renderers: dict[str, Callable[..., str]] = {
        "mermaid": diagram.to_mermaid,
        "dot": diagram.to_dot,
        "text": _text_layout,
    }
    text = renderers[args.format](cadence)
    if args.output is None:
        print(text)
    else:
        Path(args.output).write_text(text + "\n", encoding="utf-8")
        print(f"wrote {args.output}")
    return 0


def _text_layout(cadence: Any) -> str:
    """``-f text``: the layout 0.7.2's command printed (``print_cadence``), not ``to_text``."""
    from cadence import diagram
    from cadence._compat.diagram import layout_072

    return layout_072(cadence, diagram=diagram)


def _load(target: str) -> Any:
    from cadence.diagram import load_cadence

    module = target.partition(":")[0]
    if ":" not in target or not module:
        raise UserError(
            f"expected module:attribute, got {target!r} (fix: e.g. myapp.cadences:checkout)"
        )
    try:
        return load_cadence(target)
    except ValueError as exc:
        raise UserError(f"{exc} (fix: check the module:attribute name)") from None
    except ModuleNotFoundError as exc:
        raise UserError(
            f"cannot import {exc.name or module!r} "
            "(fix: run from your project directory, or check the module name)"
        ) from None
    except Exception as exc:  # the user's module raised while importing
        raise UserError(
            f"importing {module} failed: {type(exc).__name__}: {exc} "
            f"(fix: run `python -c 'import {module}'` to see the traceback)"
        ) from None


def _load_here(target: str) -> Any:
    """``_load`` from the current directory, like ``python -m``."""
    _use_cwd()
    return _load(target)


def _cmd_timeline(args: argparse.Namespace) -> int:
    from cadence.timeline import timeline_command

    _use_cwd()
    target = args.target
    recording = target.endswith(".json") or Path(target).is_file()
    if recording and not Path(target).is_file():
        raise UserError(
            f"no such file: {target} (fix: save a run with RunRecorder.save(path), "
            "or give module:attribute to run the cadence)"
        )
    if not recording:
        _load(target)  # the same one-line errors as `run` for a bad module:attr
    try:
        written = timeline_command(target, output=args.output)
    except OSError as exc:
        raise UserError(
            f"cannot write {args.output}: {exc.strerror or exc} (fix: check the -o path)"
        ) from None
    except (ValueError, TypeError, KeyError) as exc:
        fix = (
            "give a file written by RunRecorder.save(path)"
            if recording
            else "fix what the error names, or see it with `cadence run --traceback`"
        )
        text = f"{exc}" if isinstance(exc, ValueError) else f"{type(exc).__name__}: {exc}"
        raise UserError(f"{text} (fix: {fix})") from None
    print(f"wrote {written}")
    return 0


# -- validate ---------------------------------------------------------------------------------


def _cmd_validate(args: argparse.Namespace) -> int:
    from cadence._cli.validating import registry_for, validate_target

    registry = registry_for(args.registry)
    diags = [
        d
        for target in args.targets
        for d in validate_target(target, registry=registry, mode=args.mode)
    ]
    errors = sum(1 for d in diags if d.is_error)
    warnings = len(diags) - errors
    if args.json:
        print(json.dumps([d.to_dict() for d in diags], indent=2))
    else:
        for d in diags:
            print(d.format())
        summary = f"{errors} error{'s' * (errors != 1)}, {warnings} warning{'s' * (warnings != 1)}"
        print(summary if diags else "no problems found", file=sys.stderr)
    return 1 if errors or (args.strict and warnings) else 0


# -- run --------------------------------------------------------------------------------------


def _cmd_run(args: argparse.Namespace) -> int:
    from cadence import CadenceHooks, RunSuspended

    _use_cwd()
    cadence = _load(args.target)
    score = score_for(cadence.score, args.score)
    show = args.progress if args.progress is not None else sys.stderr.isatty()
    if show:
        hooks = type("ProgressHooks", (Progress, CadenceHooks), {})(sys.stderr)
        cadence.with_hooks(hooks)
    started = time.perf_counter()
    try:
        result = asyncio.run(cadence.run(score, run_id=args.run_id))
    except RunSuspended as exc:
        from cadence._cli.waits import parked_output

        return parked_output(exc, args.target)
    except Exception as exc:
        if args.traceback:
            raise
        elapsed = (time.perf_counter() - started) * 1000
        raise UserError(
            f"cadence {cadence.name!r} failed after {elapsed:.0f} ms: {exc} "
            "(fix: rerun with --traceback to see where)"
        ) from None
    print(json.dumps(to_jsonable(result), indent=2, default=str))
    return 0


# -- parser -----------------------------------------------------------------------------------


def build_parser() -> argparse.ArgumentParser:
    """The argument parser (exposed for documentation and tests)."""
    p = _Parser(
        prog="cadence",
        description="Declarative orchestration: scaffold, draw, validate and run cadences.",
    )
    p.add_argument("--version", action="version", version=f"cadence {__version__}")
    sub = p.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)

    init = sub.add_parser("init", help="create a runnable project (package, sample cadence, test)")
    init.add_argument("dir", nargs="?", default=".", help="directory to create (default: here)")
    init.add_argument("--name", help="project name (default: the directory's name)")
    init.add_argument("-f", "--force", action="store_true", help="overwrite existing files")
    init.set_defaults(func=_cmd_init)

    new = sub.add_parser("new", help="generate a cadence or a note")
    new.set_defaults(func=_cmd_new, kind=None)  # `cadence new` alone: one line, exit 1
    kinds = new.add_subparsers(dest="kind", metavar="KIND", parser_class=_Parser)
    for kind, text in (
        ("cadence", "a module with a score, notes and a cadence"),
        ("note", "a module with one @note"),
    ):
        k = kinds.add_parser(kind, help=text)
        k.add_argument("name", help=f"{kind} name, e.g. process-payment")
        folder = "cadences" if kind == "cadence" else "notes"
        k.add_argument("-o", "--output", help=f"directory to write into (default: {folder}/)")
        k.add_argument("-f", "--force", action="store_true", help="overwrite an existing file")
        if kind == "note":
            k.add_argument("--retry", type=_attempts, metavar="N", help="total attempts (0: none)")
            k.add_argument(
                "--timeout", type=_seconds, metavar="S", help="seconds per attempt (0: none)"
            )
            k.add_argument(
                "--fallback", metavar="V", help="value on failure (JSON, or a plain string)"
            )
        k.set_defaults(func=_cmd_new)

    diagram = sub.add_parser("diagram", help="draw a cadence (module:attr)")
    diagram.add_argument("target", help="module:attribute, e.g. myapp.cadences:checkout")
    diagram.add_argument(
        "-f", "--format", choices=("mermaid", "dot", "text", "svg", "png"), default="mermaid"
    )
    diagram.add_argument(
        "-o", "--output", help="write to this file (svg/png without -o go to stdout)"
    )
    diagram.set_defaults(func=_cmd_diagram)

    timeline = sub.add_parser("timeline", help="run a cadence once and write an HTML timeline")
    timeline.add_argument("target", help="module:attribute, or a JSON file saved by RunRecorder")
    timeline.add_argument("-o", "--output", default="timeline.html", help="HTML file to write")
    timeline.set_defaults(func=_cmd_timeline)

    val = sub.add_parser("validate", help="check files, modules, or - (stdin); exit 1 on errors")
    val.add_argument(
        "targets", nargs="+", metavar="TARGET", help="file, directory, module[:attr], or -"
    )
    val.add_argument("--json", action="store_true", help="print diagnostics as JSON")
    val.add_argument(
        "--mode",
        choices=("module", "composition"),
        default="module",
        help="composition: untrusted text",
    )
    val.add_argument("--registry", help="allowed names: a,b,c or module:attr of a mapping")
    val.add_argument("--strict", action="store_true", help="warnings fail too")
    val.set_defaults(func=_cmd_validate)

    run = sub.add_parser("run", help="run a cadence and print the final score as JSON")
    run.add_argument("target", help="module:attribute, e.g. myapp.cadences:checkout")
    run.add_argument("--score", help="JSON object of fields to set on the score (or @file.json)")
    run.add_argument(
        "--progress",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="show live progress on stderr (default: when it is a terminal)",
    )
    run.add_argument("--traceback", action="store_true", help="show the full traceback on failure")
    run.add_argument("--run-id", help="the run's id (a checkpointed run resumes from it)")
    run.set_defaults(func=_cmd_run)

    from cadence._cli.waits import add_parsers

    add_parsers(sub, _load_here)

    # Listed for --help only: main() hands `generate ...` to cadence_llm.codegen_cli (lazy).
    sub.add_parser("generate", help="ask a model to write a cadence (extra: llm)", add_help=False)
    return p


def main(argv: Sequence[str] | None = None) -> int:
    """Run the CLI; returns the exit code (0 ok, 1 findings or failure, 2 usage error)."""
    from cadence._cli.scaffold import ScaffoldError

    argv = list(sys.argv[1:] if argv is None else argv)
    if argv[:1] == ["generate"]:  # the LLM layer is imported only for this subcommand
        try:
            from cadence_llm.codegen_cli import main as generate
        except ImportError as exc:
            sys.stderr.write(
                f"cadence: error: {exc} (fix: pip install 'cadence-orchestration[llm]')\n"
            )
            return 1
        return generate(argv[1:])
    parser = build_parser()
    args = parser.parse_args(argv)
    if getattr(args, "func", None) is None:
        parser.print_help()  # bare `cadence`: the help, on stdout and exit 0 (as in 0.7.2)
        return 0
    try:
        return int(args.func(args))
    except (UserError, ScaffoldError) as exc:
        sys.stderr.write(f"cadence: error: {exc}\n")
    except (ImportError, ValueError, AttributeError, OSError, RuntimeError) as exc:
        if getattr(args, "traceback", False):
            raise
        sys.stderr.write(f"cadence: error: {type(exc).__name__}: {exc}\n")
    except KeyboardInterrupt:
        sys.stderr.write("cadence: interrupted\n")
        return 130
    return 1


# --- kept for cadence-orchestration 0.7.2 code (deprecated): see docs/migrating.md -----------


def __getattr__(name: str) -> Any:
    from cadence._compat import deprecated
    from cadence._compat.cli import COMMANDS

    translate = COMMANDS.get(name)
    if translate is None:
        raise AttributeError(f"module 'cadence.cli' has no attribute {name!r}")

    def command(args: Any) -> int:
        argv = translate(args)
        deprecated(f"cadence.cli.{name}(args)", f"cadence.cli.main({argv!r})")
        return main(argv)

    command.__name__ = command.__qualname__ = name
    command.__doc__ = translate.__doc__
    return command
