import asyncio
import time


async def polite(score) -> None:
    await asyncio.sleep(0.1)
    await asyncio.to_thread(time.sleep, 0.1)


def sync_note(score) -> None:
    time.sleep(0.01)
