from pydantic import BaseModel

from cadence import Cadence, note


class Ticket(BaseModel):
    text: str = ""
    label: str = ""


@note(fallback={"default": "unknown", "field": "label"})
async def classify(score: Ticket) -> None:
    score.label = "bug"


pipeline = Cadence("tickets", Ticket()).then("classify", classify)
