"""Usage and cost per call and per block; GenAI OpenTelemetry spans."""

from __future__ import annotations

import asyncio

import pytest
import respx
from opentelemetry import trace
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from cadence_llm import (
    FallbackChain,
    ModelResponse,
    OpenAIModel,
    Price,
    PriceTable,
    ScriptedModel,
    ServerError,
    Usage,
    track_usage,
)

from .conftest import OPENAI_URL, openai_completion


def test_price_table_prefix_match_and_cached_price():
    """Dated model names match their base entry; cached input has its own price."""
    table = PriceTable(
        {
            "gpt-4o": Price(input=2.5, output=10.0, cached_input=1.25),
            "gpt-4o-mini": Price(0.15, 0.6),
        }
    )
    usage = Usage(input_tokens=1_000_000, output_tokens=100_000, cached_tokens=400_000)
    assert table.cost("gpt-4o-2024-08-06", usage) == pytest.approx(
        0.6 * 2.5 + 0.4 * 1.25 + 0.1 * 10.0
    )
    assert table.price("gpt-4o-mini-2024-07-18") == Price(0.15, 0.6)
    assert table.cost("claude-x", usage) is None


def test_prompt_cache_writes_have_their_own_price():
    """Tokens written to the prompt cache cost Price.cache_write (Anthropic bills 1.25x or 2x
    input for them); without one they cost the input price, as before."""
    usage = Usage(
        input_tokens=100_300, output_tokens=1_000, cached_tokens=100, cache_write_tokens=100_000
    )
    priced = Price(input=3.0, output=15.0, cached_input=0.3, cache_write=6.0)
    assert priced.cost(usage) == pytest.approx(
        (200 * 3.0 + 100 * 0.3 + 100_000 * 6.0 + 1_000 * 15.0) / 1_000_000
    )
    plain = Price(input=3.0, output=15.0, cached_input=0.3)
    assert plain.cost(usage) == pytest.approx(
        (100_200 * 3.0 + 100 * 0.3 + 1_000 * 15.0) / 1_000_000
    )


async def test_ledger_sums_calls_including_concurrent_tasks():
    """track_usage totals every call in the block, also those made by tasks it starts."""
    table = PriceTable({"m": Price(input=1.0, output=2.0)})
    model = ScriptedModel(
        [ModelResponse(text="x", usage=Usage(input_tokens=10, output_tokens=5))],
        name="m",
        repeat=True,
    )
    with track_usage(table) as ledger:
        await asyncio.gather(*(model.complete("hi") for _ in range(3)))
    assert ledger.usage == Usage(input_tokens=30, output_tokens=15)
    assert ledger.cost == pytest.approx((30 * 1.0 + 15 * 2.0) / 1_000_000)
    assert ledger.by_model() == {"m": Usage(input_tokens=30, output_tokens=15)}
    assert ledger.unpriced_models == set()


async def test_nested_ledgers_and_failed_calls():
    """Inner blocks count toward outer ones; failed calls are not recorded."""
    ok = ScriptedModel(["a b c"], name="ok", repeat=True)
    bad = ScriptedModel([ServerError("x")], name="bad", repeat=True)
    with track_usage() as outer:
        await ok.complete("hi")
        with track_usage() as inner:
            await FallbackChain([bad, ok], retry=1).complete("hi there")
    assert len(inner.calls) == 1 and len(outer.calls) == 2
    assert outer.unpriced_models == {"ok"}


@pytest.fixture
def spans():
    """An in-memory OpenTelemetry exporter installed for the test."""
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    from cadence_llm import _otel

    previous = _otel._tracer
    _otel._tracer = provider.get_tracer("cadence_llm")
    yield exporter
    _otel._tracer = previous
    provider.shutdown()


@respx.mock
async def test_genai_span_attributes(spans, openai_client):
    """A call produces a client span named 'chat <model>' with gen_ai.* request and usage attributes."""
    respx.post(OPENAI_URL).respond(200, json=openai_completion("hi", usage=(11, 3, 0)))
    from cadence_llm import ModelRequest

    await OpenAIModel("gpt-4o-mini", client=openai_client).complete(
        ModelRequest.of("x", temperature=0.3, max_tokens=9)
    )
    (span,) = spans.get_finished_spans()
    assert span.name == "chat gpt-4o-mini" and span.kind == trace.SpanKind.CLIENT
    a = span.attributes
    assert a["gen_ai.system"] == "openai" and a["gen_ai.operation.name"] == "chat"
    assert a["gen_ai.request.model"] == "gpt-4o-mini" and a["gen_ai.request.temperature"] == 0.3
    assert a["gen_ai.request.max_tokens"] == 9
    assert a["gen_ai.usage.input_tokens"] == 11 and a["gen_ai.usage.output_tokens"] == 3
    assert a["gen_ai.response.id"] == "chatcmpl-abc123"
    assert tuple(a["gen_ai.response.finish_reasons"]) == ("stop",)


async def test_failed_call_span_has_error_type(spans):
    """A failed call's span records error.type and an error status."""
    with pytest.raises(ServerError):
        await ScriptedModel([ServerError("x")], name="m").complete("hi")
    (span,) = spans.get_finished_spans()
    assert span.attributes["error.type"] == "MODEL_SERVER_ERROR"
    assert span.status.status_code == trace.StatusCode.ERROR


async def test_stream_span_ends_with_usage(spans):
    """A streamed call's span ends when the stream does, with usage."""
    async for _ in ScriptedModel(["one two"], name="m").stream("hi"):
        pass
    (span,) = spans.get_finished_spans()
    assert span.attributes["gen_ai.request.stream"] is True
    assert span.attributes["gen_ai.usage.output_tokens"] == 2


async def test_span_ends_when_a_bug_propagates(spans):
    """An unknown exception (a bug) propagates unchanged and still ends its span with error.type."""
    from cadence_llm import FunctionModel

    def broken(request):
        raise KeyError("bug")

    with pytest.raises(KeyError):
        await FunctionModel(broken).complete("hi")
    (span,) = spans.get_finished_spans()
    assert span.attributes["error.type"] == "KeyError"
