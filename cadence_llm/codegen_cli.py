"""``cadence generate``: ask a model to write a cadence from the command line.

Registered lazily by :mod:`cadence.cli` (``cadence generate ...`` hands its arguments to
:func:`main`), so the core CLI never imports the LLM layer. Examples::

    cadence generate "load the order, then charge and ship in parallel" \\
        --registry myapp.notes --model local:qwen2.5-coder-0.5b
    cadence generate "nightly ETL with retries" --scaffold -o etl.py --model myapp.models:model

The accepted composition is printed (or, with ``--json``, the whole outcome); nothing generated
is executed. A scaffold is written to a file for review, never imported.
"""

from __future__ import annotations

import argparse
import asyncio
import importlib
import inspect
import json
import os
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

__all__ = ["add_parser", "build_parser", "load_model", "load_registry", "main", "run"]


class GenerateError(Exception):
    """A user mistake on the command line (reported in one line, exit 1)."""


def _import(spec: str) -> Any:
    """``module`` or ``module:attr`` from the current directory's import path."""
    if os.getcwd() not in sys.path:
        sys.path.insert(0, os.getcwd())
    module_name, _, attr = spec.partition(":")
    if "/" in module_name or os.sep in module_name or Path(module_name).is_file():
        # A file path: import_module would say "relative import" or "no module".
        stem = Path(module_name).stem or "notes"
        raise GenerateError(
            f"{spec!r} is a file path; name the module instead (e.g. {stem!r} for {stem}.py "
            "in the current directory)"
        )
    try:
        module = importlib.import_module(module_name)
    except ImportError as exc:
        raise GenerateError(f"cannot import {module_name!r}: {exc}") from None
    except Exception as exc:  # the user's module raised while importing
        raise GenerateError(
            f"importing {module_name!r} failed: {type(exc).__name__}: {exc} "
            f"(fix: run `python -c 'import {module_name}'` to see the traceback)"
        ) from None
    if not attr:
        return module
    try:
        return getattr(module, attr)
    except AttributeError:
        raise GenerateError(f"module {module_name!r} has no attribute {attr!r}") from None


def load_registry(spec: str) -> dict[str, Any]:
    """A registry from ``module:attr`` (a mapping) or ``module`` (its public functions and cadences)."""
    from cadence import Cadence, Note

    obj = _import(spec)
    if isinstance(obj, Mapping):
        return dict(obj)
    if inspect.ismodule(obj):
        out = {
            name: value
            for name, value in vars(obj).items()
            if not name.startswith("_")
            and (
                isinstance(value, Cadence)
                or (inspect.isfunction(value) and value.__module__ == obj.__name__)
                # @note functions are Note objects: the usual way to write a note
                or (
                    isinstance(value, Note)
                    and getattr(value.fn, "__module__", None) == obj.__name__
                )
            )
        }
        if out:
            return out
        raise GenerateError(f"module {spec!r} defines no public functions or cadences to use")
    raise GenerateError(f"{spec!r} is neither a module nor a mapping of names to functions")


def load_model(spec: str) -> Any:
    """The model ``--model`` names: a ``cadence_llm.model_from_spec`` spec (``local:NAME_OR_GGUF``
    or a bare weights name, ``openai:MODEL``, ``anthropic:MODEL``, or ``module:attr``)."""
    from cadence_llm.models.spec import model_from_spec
    from cadence_llm.models.weights import WeightsError

    if os.getcwd() not in sys.path:  # module:attr from the current directory, like --registry
        sys.path.insert(0, os.getcwd())
    try:
        return model_from_spec(spec, n_ctx=4096)
    except (ValueError, ImportError, WeightsError) as exc:
        raise GenerateError(f"--model {spec!r}: {exc}") from None
    except Exception as exc:  # the provider's SDK refused to start, e.g. no API key set
        raise GenerateError(
            f"--model {spec!r}: {type(exc).__name__}: {exc} "
            "(fix: check the provider's settings, such as its API key variable)"
        ) from None


def add_parser(subparsers: Any, **kwargs: Any) -> argparse.ArgumentParser:
    """Add the ``generate`` subcommand to an argparse ``subparsers`` object."""
    p: argparse.ArgumentParser = subparsers.add_parser(
        "generate", help="ask a model to write a cadence (validated, never executed)", **kwargs
    )
    _arguments(p)
    return p


def _count(text: str, least: int = 0) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None
    if value < least:
        raise argparse.ArgumentTypeError(f"must be >= {least}, got {value}")
    return value


def _positive(text: str) -> int:
    return _count(text, 1)


def _arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("task", help="what the cadence should do, in plain words")
    p.add_argument(
        "--model",
        required=True,
        help="NAME_OR_GGUF, local:…, openai:MODEL, anthropic:MODEL or module:attr",
    )
    p.add_argument("--registry", help="module (its public functions) or module:attr (a mapping)")
    p.add_argument("--score", help="module:Class of the score (fields are shown to the model)")
    p.add_argument("--mode", choices=("plan", "text", "grammar", "json"), default="plan")
    p.add_argument(
        "--constrain",
        choices=("auto", "grammar", "schema", "none"),
        default="auto",
        help="plan mode: GBNF grammar (llama.cpp), JSON schema (providers), or none",
    )
    p.add_argument("--max-repairs", type=_count, default=2, help="repair rounds (default 2)")
    p.add_argument("--max-tokens", type=_positive, default=None, help="token cap per answer")
    p.add_argument("--scaffold", action="store_true", help="write a whole module for review")
    p.add_argument("-o", "--output", help="scaffold: file to write (default: stdout)")
    p.add_argument("-f", "--force", action="store_true", help="scaffold: overwrite the file")
    p.add_argument("--json", action="store_true", help="print the outcome as JSON")
    p.set_defaults(func=run)


def build_parser() -> argparse.ArgumentParser:
    """The standalone parser (``cadence generate`` and tests)."""
    p = argparse.ArgumentParser(
        prog="cadence generate",
        description="Ask a model to write a cadence; validate, repair, and print it.",
    )
    _arguments(p)
    return p


def _outcome(gen: Any) -> dict[str, Any]:
    return {
        "ok": gen.ok,
        "mode": gen.mode,
        "source": gen.source,
        "repairs": gen.repairs,
        "diagnostics": [d.to_dict() for d in gen.diagnostics],
        "output_tokens": gen.usage.output_tokens,
        "seconds": round(gen.seconds, 3),
    }


def _check_output(path: Path, force: bool) -> None:
    """Refuse an ``-o`` file that cannot be written, or exists without ``-f``."""
    if path.is_dir():
        raise GenerateError(f"{path} is a directory; name a file to write")
    if path.exists() and not force:
        raise GenerateError(f"{path} exists; pass -f to overwrite")
    if not path.parent.is_dir():
        raise GenerateError(f"cannot write {path}: the directory {path.parent} does not exist")


def run(args: argparse.Namespace) -> int:
    """Carry out ``cadence generate`` for parsed ``args``; returns the exit code."""
    from cadence_llm.codegen import _check_registry, generate_cadence, generate_scaffold

    if not args.task.strip():
        raise GenerateError("the task is empty: say in words what the cadence should do")
    if args.scaffold and args.output:
        # Before the model is asked: a local model takes half a minute per answer.
        _check_output(Path(args.output), args.force)
    # --registry and --score are checked before the model loads: local weights take a while.
    if args.scaffold:
        names = list(load_registry(args.registry)) if args.registry else []
    else:
        if not args.registry:
            raise GenerateError("--registry is required (the notes the cadence may use)")
        registry = load_registry(args.registry)
        try:
            _check_registry(registry)
        except (TypeError, ValueError) as exc:
            raise GenerateError(f"--registry {args.registry!r}: {exc}") from None
        score_type = _import(args.score) if args.score else None
    model = load_model(args.model)
    options: dict[str, Any] = {"max_repairs": args.max_repairs, "raise_on_failure": False}
    if args.max_tokens:
        options["max_tokens"] = args.max_tokens
    if args.scaffold:
        gen = asyncio.run(generate_scaffold(model, args.task, registry=names, **options))
    else:
        gen = asyncio.run(
            generate_cadence(
                model,
                args.task,
                registry,
                score_type,
                mode=args.mode,
                constrain=args.constrain,
                **options,
            )
        )
    written = None
    if gen.ok and args.scaffold and args.output:  # -o is honoured with --json too
        written = Path(args.output)
        _check_output(written, args.force)
        try:
            written.write_text(gen.source, encoding="utf-8")
        except OSError as exc:
            raise GenerateError(f"cannot write {written}: {exc.strerror or exc}") from None
    if args.json:
        print(json.dumps(_outcome(gen), indent=2))
    elif gen.ok:
        if written is not None:
            print(f"wrote {written} (review it before running; it was validated, not executed)")
        else:
            print(gen.source)
        # Task-grounding findings that remained: the answer is valid but may not be what the
        # task meant (CAD701-CAD704); the reader should know before running it.
        for d in gen.diagnostics:
            sys.stderr.write(d.format() + "\n")
    if not gen.ok:
        for d in gen.diagnostics:
            sys.stderr.write(d.format() + "\n")
        sys.stderr.write(
            f"cadence generate: no acceptable answer after {len(gen.attempts)} attempt(s) "
            "(fix: describe the task more precisely, allow more --max-repairs, or try a stronger model)\n"
        )
        return 1
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    """``cadence generate ...``: parse ``argv`` and run; user mistakes are one line on stderr."""
    from cadence_llm.errors import ModelError

    args = build_parser().parse_args(argv)
    try:
        return run(args)
    except GenerateError as exc:
        sys.stderr.write(f"cadence generate: error: {exc}\n")
        return 1
    except ModelError as exc:  # the model could not answer: unreachable, refused, rate-limited
        sys.stderr.write(
            f"cadence generate: error: {exc} (fix: check the model's address, key and quota, "
            "or pick another --model)\n"
        )
        return 1
    except ImportError as exc:
        sys.stderr.write(
            f"cadence generate: error: {exc} (fix: pip install 'cadence-orchestration[llm]')\n"
        )
        return 1
    except KeyboardInterrupt:  # Ctrl-C while a model answers: as every cadence command
        sys.stderr.write("cadence generate: interrupted\n")
        return 130
