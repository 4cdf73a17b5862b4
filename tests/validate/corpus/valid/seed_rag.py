from dataclasses import dataclass, field
from cadence import Cadence, Score, note, retry, timeout, fallback


@dataclass
class RAGScore(Score):
    query: str
    context: list = field(default_factory=list)
    answer: str = ""


@note(timeout=5.0)
async def retrieve(score: RAGScore):
    score.context = await vector_db.search(score.query)


@note(fallback={"default": [], "field": "context"}, timeout=10.0)
async def web_search(score: RAGScore):
    score.context += await search_api.query(score.query)


@note(retry={"max_attempts": 3, "backoff": "exponential"}, timeout=30.0)
async def generate(score: RAGScore):
    score.answer = await llm.generate(score.query, context=score.context)


rag = (
    Cadence("rag", RAGScore(query="What is Cadence?"))
    .sync("retrieve", [retrieve, web_search])  # parallel retrieval
    .then("generate", generate)  # LLM call with retry + timeout
)
