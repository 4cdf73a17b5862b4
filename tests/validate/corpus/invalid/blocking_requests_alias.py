
import requests as rq


async def fetch(score):
    rq.post("http://example.invalid", json={})  # expect: CAD403
