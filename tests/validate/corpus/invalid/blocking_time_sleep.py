
import time


async def slow(score):
    time.sleep(1)  # expect: CAD403
