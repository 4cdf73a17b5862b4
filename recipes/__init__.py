"""Runnable pipelines built with cadence; each module runs with ``python -m recipes.<name>``."""
