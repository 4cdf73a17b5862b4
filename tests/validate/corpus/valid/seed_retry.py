from cadence import note, retry


@note(retry={"max_attempts": 3, "delay": 1.0, "backoff": "exponential"})
async def call_external_api(score):
    response = await http_client.get(score.api_url)
    score.data = response.json()
