from cadence import note, timeout


@note(timeout=5.0)
async def slow_operation(score):
    score.result = await long_running_task()
