"""Deprecated module path (cadence-orchestration 0.7.2): import ``Cadence`` from ``cadence``."""

from cadence._compat import moved

__getattr__ = moved(__name__, {"Cadence": "cadence:Cadence"})
