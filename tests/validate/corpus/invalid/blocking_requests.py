
import requests


async def fetch(score):
    score.data = requests.get("http://example.invalid").json()  # expect: CAD403
