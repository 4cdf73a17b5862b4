"""Web framework integrations; each submodule needs its framework's extra.

* ``cadence.integrations.fastapi`` -- ``CadenceRouter``, ``CadenceDependency``,
  ``cadence_lifespan`` (``pip install 'cadence-orchestration[fastapi]'``).
* ``cadence.integrations.flask`` -- ``CadenceBlueprint``, ``CadenceExtension``
  (``pip install 'cadence-orchestration[flask]'``).

Nothing is imported here, so ``import cadence.integrations`` never needs an optional package.
"""

__all__: list[str] = []
