from cadence import Retry, fallback, note, retry, timeout


@note(retry=Retry(3, delay=0.1, backoff="linear"), timeout=None)
async def one(score) -> None:
    pass


@retry(5, delay=0.0, backoff="fixed", max_delay=1.0, jitter=False)
@timeout(2.5)
@fallback("x", field="status")
async def two(score) -> None:
    pass


@note(name="three", description="third", retry={"max_attempts": 2, "on": (ValueError,), "deadline": 9})
def three(score) -> None:
    pass
