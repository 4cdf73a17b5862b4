"""Import optional dependencies late, with an error that names the install command."""

from __future__ import annotations

import importlib
from types import ModuleType
from typing import Any

__all__ = ["check_async_client", "require"]


def require(module: str, extra: str) -> ModuleType:
    """Import ``module`` or raise an ImportError telling the user which extra installs it.

    Args:
        module: The module to import (``"openai"``).
        extra: The cadence extra that provides it (``"openai"``).
    """
    try:
        return importlib.import_module(module)
    except ImportError as exc:
        raise ImportError(
            f"{module} is not installed; install it with "
            f"pip install 'cadence-orchestration[{extra}]'"
        ) from exc


def check_async_client(client: Any, *, adapter: str, sdk: str, attrs: tuple[str, ...]) -> None:
    """Refuse, when the adapter is built, a client it cannot await: a sync SDK client (which
    would block the event loop and then fail on ``await``) or another provider's client.

    A client of neither SDK (a test double, a wrapper) is accepted when it has ``attrs``.
    """
    cls = type(client).__name__
    root = type(client).__module__.split(".")[0]
    if root in ("openai", "anthropic") and root != sdk:
        raise TypeError(f"{adapter}(client=...) takes an async {sdk} SDK client; got {root}.{cls}")
    if root == sdk and not cls.startswith("Async"):
        raise TypeError(
            f"{adapter} needs an async client: pass {sdk}.Async{cls}(...) instead of {sdk}.{cls}"
        )
    obj = client
    for attr in attrs:
        obj = getattr(obj, attr, None)
        if obj is None:
            raise TypeError(
                f"{adapter}(client=...) takes an async {sdk} SDK client; got {cls}, which has "
                f"no .{'.'.join(attrs)}"
            )
