"""The public API is one import path per package, with a complete and sorted ``__all__``."""

from __future__ import annotations

import importlib
import inspect
import types

import pytest

PACKAGES = ["cadence", "cadence_llm"]


@pytest.mark.parametrize("name", PACKAGES)
def test_all_is_sorted(name: str) -> None:
    """__all__ is sorted, so additions are easy to review."""
    module = importlib.import_module(name)
    assert list(module.__all__) == sorted(module.__all__)


@pytest.mark.parametrize("name", PACKAGES)
def test_all_names_exist(name: str) -> None:
    """Every name in __all__ is importable from the package."""
    module = importlib.import_module(name)
    missing = [n for n in module.__all__ if not hasattr(module, n)]
    assert missing == []


@pytest.mark.parametrize("name", PACKAGES)
def test_every_public_name_is_in_all(name: str) -> None:
    """Every public class, function or constant the package defines or re-exports is in __all__."""
    module = importlib.import_module(name)
    public = {
        n
        for n, v in vars(module).items()
        if (
            not n.startswith("_")
            and not isinstance(v, types.ModuleType)
            and not (inspect.isclass(v) or callable(v))
        )
        or (
            not n.startswith("_")
            and (inspect.isclass(v) or callable(v))
            and getattr(v, "__module__", "").split(".")[0] == name
        )
    }
    public -= {"annotations"}
    assert sorted(public - set(module.__all__)) == []


def test_seed_names_are_exported() -> None:
    """Every name the seed README imports from cadence is there."""
    import cadence

    seed = [
        "Cadence",
        "Score",
        "note",
        "retry",
        "timeout",
        "fallback",
        "circuit_breaker",
        "ImmutableScore",
        "AtomicList",
        "AtomicDict",
        "CadenceError",
        "NoteError",
        "ParallelNoteError",
        "LoggingHooks",
        "TimingHooks",
        "CadenceHooks",
        "to_mermaid",
        "to_dot",
    ]
    assert [n for n in seed if n not in cadence.__all__] == []


def test_import_cadence_imports_only_the_stdlib() -> None:
    """import cadence pulls in no third-party package."""
    import subprocess
    import sys

    code = (
        "import sys\n"
        "before = set(sys.modules)\n"
        "import cadence, cadence.resilience, cadence.diagram, cadence.hooks\n"
        "cadence.LoggingHooks, cadence.retry\n"
        "new = {m.split('.')[0] for m in set(sys.modules) - before}\n"
        "print(sorted(new - set(sys.stdlib_module_names) - {'cadence'}))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_lazy_names_resolve_and_are_listed() -> None:
    """Lazily loaded names resolve to the real objects and appear in dir(cadence)."""
    import cadence
    from cadence.resilience import retry

    assert cadence.retry is retry
    assert "to_mermaid" in dir(cadence)
    with pytest.raises(AttributeError, match="no attribute 'nope'"):
        cadence.nope  # noqa: B018
