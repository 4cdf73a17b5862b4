from cadence import note, fallback


@note(fallback={"default": "unknown", "field": "status"})
async def get_status(score):
    score.status = await status_service.get(score.id)
