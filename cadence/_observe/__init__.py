"""Private helpers of cadence's observability, all in this folder; the public faces are
``cadence.hooks``, ``cadence.events``, ``cadence.reporters`` and ``cadence.timeline``.

* ``_base`` — the one protocol: ``CadenceHooks``, the ``HooksManager`` dispatcher and the
  helpers the runner calls hooks through. It imports nothing else of cadence.
* ``_reporter`` — ``Reporter``: ``report(note_name, seconds, score)`` on top of the hooks, and
  ``StepBuffer``, the per-run steps a reporter keeps until the run's TOTAL.
* ``_records`` — the frozen event records and how the emitter builds them cheaply.
* ``_track`` — per-observer run and note frames, for observers that keep state per run.
* ``_builtin`` — ``LoggingHooks``, ``TimingHooks``, ``MetricsHooks``, ``DebugHooks``.
* ``_tracing`` — ``TracingHooks`` (OpenTelemetry spans), shared with the reporter.
* ``_timeline_html`` — the HTML page of ``cadence.timeline``.

A new observer copies a neighbour: a ``Reporter`` subclass (``reporters/console.py``) when
step times are enough, a ``CadenceHooks`` subclass with a ``Tracker`` (``_builtin.py``'s
``TimingHooks``) when it needs every task, failure and retry.
"""
