"""Private helpers of cadence's observability; the public faces are ``cadence.hooks``,
``cadence.events``, ``cadence.reporters`` and ``cadence.timeline``.

* ``_base`` — the one protocol: ``CadenceHooks`` and the ``HooksManager`` dispatcher.
"""
