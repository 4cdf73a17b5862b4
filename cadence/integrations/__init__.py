"""Web framework integrations; each framework module needs its framework's extra.

* ``cadence.integrations.fastapi`` -- ``CadenceRouter``, ``CadenceDependency``,
  ``cadence_lifespan`` (``pip install 'cadence-orchestration[fastapi]'``).
* ``cadence.integrations.flask`` -- ``CadenceBlueprint``, ``CadenceExtension``
  (``pip install 'cadence-orchestration[flask]'``).

This package itself imports only the standard library, so a note (or the LLM layer, for model
tokens) can call :func:`publish_event` without depending on any web framework: the event reaches
the client when the run is being streamed, and is dropped otherwise.
"""

from cadence.integrations._stream import is_streamed, publish_event

__all__ = ["is_streamed", "publish_event"]
