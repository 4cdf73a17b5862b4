"""``cadence validate``: what each target is (file, folder, module, stdin) and what it checks.

A module is checked statically first and, when that is clean, imported so its built cadences
are checked too (:func:`cadence.validate.check_module`). Two findings that the library reports
as facts are failures on the command line, as they were in cadence-orchestration 0.7.2: a
module without any cadence (you named the wrong module) and a cadence without steps (you
forgot to add them). Both exit 1 with a fix.
"""

from __future__ import annotations

import dataclasses
import importlib.util
import os
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Literal

from cadence._cli.running import UserError
from cadence._validate._diagnostics import Diagnostic

__all__ = ["registry_for", "validate_target"]


def _use_cwd() -> None:
    if "" not in sys.path and os.getcwd() not in sys.path:
        sys.path.insert(0, os.getcwd())


def registry_for(spec: str | None) -> Any:
    """``--registry``: ``a,b,c`` (names) or ``module:attr`` (a mapping, or a list of names)."""
    if spec is None:
        return None
    if ":" in spec:
        from cadence._validate._built import import_target

        _use_cwd()
        try:
            found = import_target(spec)
        except ModuleNotFoundError as exc:
            raise UserError(
                f"--registry {spec}: cannot import {exc.name or spec.partition(':')[0]!r} "
                "(fix: run from your project directory, or check the module name)"
            ) from None
        except AttributeError as exc:
            raise UserError(f"--registry {spec}: {exc} (fix: check the attribute name)") from None
        except Exception as exc:  # the user's module raised while importing
            module = spec.partition(":")[0]
            raise UserError(
                f"--registry {spec}: importing {module} failed: {type(exc).__name__}: {exc} "
                f"(fix: run `python -c 'import {module}'` to see the traceback)"
            ) from None
        if isinstance(found, Mapping) or (
            isinstance(found, (list, tuple, set, frozenset))
            and all(isinstance(n, str) for n in found)
        ):
            return found
        raise UserError(
            f"--registry {spec} is a {type(found).__name__}, not a mapping of names "
            "(fix: name a dict such as REGISTRY = {'search': search}, or list names: --registry a,b)"
        )
    return [name.strip() for name in spec.split(",") if name.strip()]


def _python_files(path: Path) -> list[Path]:
    if path.is_file():
        return [path]
    skip = {".venv", "venv", "__pycache__", "node_modules", "build", "dist"}
    return sorted(
        p
        for p in path.rglob("*.py")
        if not any(part in skip or part.startswith(".") for part in p.parts[len(path.parts) :])
    )


def validate_target(
    target: str, *, registry: Any, mode: Literal["module", "composition"]
) -> list[Diagnostic]:
    """The findings for one TARGET: ``-`` (stdin), a file or folder (read only), or a module."""
    from cadence import validate

    if target == "-":
        text = sys.stdin.read()
        return validate.check_source(text, registry=registry, mode=mode, filename="<stdin>")
    path = Path(target)
    if path.exists():
        return [
            d
            for f in _python_files(path)
            for d in validate.check_file(f, registry=registry, mode=mode)
        ]
    if target.endswith(".py") or os.sep in target:
        raise UserError(
            f"no such file: {target} (fix: check the path, or give a module name like myapp.cadences)"
        )
    return _validate_module(target, registry)


def _validate_module(target: str, registry: Any) -> list[Diagnostic]:
    from cadence import validate

    _use_cwd()
    module_name = target.partition(":")[0]
    try:
        spec = importlib.util.find_spec(module_name)
    except ValueError:  # already imported without a spec (e.g. made by hand): no file to read
        spec = None
    except ImportError:
        spec = None
    if spec is None and module_name not in sys.modules:
        raise UserError(
            f"cannot find module {module_name!r} "
            "(fix: run from your project directory, or give a file path)"
        )
    diags: list[Diagnostic] = []
    if spec is not None and spec.origin and spec.origin.endswith(".py"):
        diags = validate.check_file(spec.origin, registry=registry)
        if validate.has_errors(diags):
            return diags  # do not import code already known to be broken
    built = validate.check_module(target)
    return diags + [_as_failure(d) for d in built] + _empty_cadences(target, built)


def _as_failure(d: Diagnostic) -> Diagnostic:
    """A module without cadences fails the command (the library reports it as a warning)."""
    if d.code != "CAD602":
        return d
    return dataclasses.replace(
        d,
        severity="error",
        hint="name the module (or module:attr) that defines your cadences, "
        "or define one at module level, e.g. checkout = Cadence(...)",
    )


def _empty_cadences(target: str, built: list[Diagnostic]) -> list[Diagnostic]:
    """A cadence with no steps runs nothing: almost always steps that were never added."""
    from cadence._cadence import Cadence
    from cadence._validate._built import import_target

    if any(d.code in ("CAD601", "CAD602") for d in built):
        return []  # not imported, or nothing to look at
    obj = import_target(target)
    found = [obj] if isinstance(obj, Cadence) else list(vars(obj).values())
    return [
        Diagnostic(
            "CAD606",
            "error",
            1,
            0,
            f"cadence {c.name!r} has no steps",
            f'add one, e.g. Cadence("{c.name}", score).then("first", first_note)',
            source=target,
        )
        for c in found
        if isinstance(c, Cadence) and not c.steps
    ]
