"""Implementation of :mod:`cadence.validate` (private; import from ``cadence.validate``)."""
