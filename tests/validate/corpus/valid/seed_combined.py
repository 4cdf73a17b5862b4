from cadence import note


# Shorthand - covers the common case
@note(retry=3, timeout=15.0)
async def call_service(score):
    score.result = await external_api.call()


# Full control via dicts
@note(
    retry={"max_attempts": 3, "backoff": "exponential", "delay": 0.5},
    timeout=30.0,
    fallback={"default": None, "field": "result"},
)
async def call_service(score):
    score.result = await external_api.call()
