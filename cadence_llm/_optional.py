"""Import optional dependencies late, with an error that names the install command."""

from __future__ import annotations

import importlib
from types import ModuleType

__all__ = ["require"]


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
