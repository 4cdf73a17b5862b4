"""Pytest plugin, loaded with ``-p tests._httpx_alias`` before anything imports httpx.

The openai 3.x and anthropic 2.x SDKs run on ``httpx2``, which respx does not patch. Aliasing
``httpx`` to ``httpx2`` process-wide makes respx (and every other httpx user in the suite, such
as FastAPI's TestClient) share httpx2's classes, so respx intercepts the SDKs' requests. This
must run before respx's own pytest plugin imports httpx, hence a ``-p`` plugin and not a
conftest.
"""

from __future__ import annotations

import httpx2

httpx2.alias_httpx()
