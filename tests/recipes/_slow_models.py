"""Models for recipe processes that the tests interrupt (``CADENCE_MODEL=tests.recipes._slow_models:reading``).

``reading`` behaves like a local model reading a long prompt: the call runs in a worker thread
that cancelling does not stop (llama.cpp cannot be interrupted mid-prompt), so the process has
a thread to wait for. ``endless`` streams tokens that never end, like a long answer.
"""

from __future__ import annotations

import asyncio
import sys
import threading
from collections.abc import AsyncIterator

from cadence_llm import FunctionModel, ModelRequest

READING = "model: reading the prompt"
"""Printed (to stderr) when a call starts, so a test knows when to press Ctrl-C."""

_never = threading.Event()


async def _read_for_ten_minutes(request: ModelRequest) -> str:
    print(READING, file=sys.stderr, flush=True)
    loop = asyncio.get_running_loop()
    await asyncio.shield(loop.run_in_executor(None, _never.wait, 600))
    return '{"label": "billing"}'


async def _endless(request: ModelRequest) -> AsyncIterator[str]:
    print(READING, file=sys.stderr, flush=True)
    while True:
        yield "token "
        await asyncio.sleep(0.05)


reading = FunctionModel(_read_for_ten_minutes, name="reading")
endless = FunctionModel(_read_for_ten_minutes, name="endless", stream_function=_endless)
