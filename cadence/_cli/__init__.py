"""Implementation of the ``cadence`` command line (private; see ``cadence.cli``)."""
