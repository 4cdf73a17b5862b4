"""0.7.2's FastAPI names keep working (each deprecated in favour of CadenceRouter)."""

from __future__ import annotations

import asyncio

import pytest
from fastapi import Depends, FastAPI
from fastapi.responses import JSONResponse
from fastapi.testclient import TestClient

from cadence import Cadence

from ._web import Order, fail, process


def test_with_cadence_runs_the_factory_cadence_on_the_returned_score() -> None:
    """@with_cadence(factory, mapper) runs factory(score) on the endpoint's score, per request."""
    from cadence.integrations.fastapi import with_cadence

    app = FastAPI()
    with pytest.warns(DeprecationWarning, match="CadenceRouter"):
        decorate = with_cadence(
            lambda score: Cadence("checkout", score).then("process", process),
            lambda score: {"order_id": score.order_id, "status": score.status},
        )

    @app.post("/orders/{order_id}")
    @decorate
    async def create(order_id: str):  # type: ignore[no-untyped-def]
        return Order(order_id=order_id)

    client = TestClient(app)
    assert client.post("/orders/A1").json() == {"order_id": "A1", "status": "processed"}
    assert client.post("/orders/B2").json()["order_id"] == "B2"
    assert create.__name__ == "create"


def test_with_cadence_lets_failures_reach_the_app() -> None:
    """A failed run propagates to the app, so its exception handlers decide (500 by default)."""
    from cadence.integrations.fastapi import install_problem_handlers, with_cadence

    def make_app(*, problems: bool) -> FastAPI:
        app = FastAPI()
        if problems:
            install_problem_handlers(app)
        with pytest.warns(DeprecationWarning):
            decorate = with_cadence(lambda score: Cadence("c", score).then("fail", fail))

        @app.post("/fail")
        @decorate
        def failing():  # type: ignore[no-untyped-def]
            return Order()

        return app

    plain = TestClient(make_app(problems=False), raise_server_exceptions=False)
    assert plain.post("/fail").status_code == 500
    response = TestClient(make_app(problems=True)).post("/fail")
    assert response.status_code == 500 and response.json()["code"] == "NOTE_ERROR"
    assert "secret internal detail" not in response.text


async def test_cadence_endpoint_runs_on_the_factory_score() -> None:
    """cadence_endpoint runs on score_factory's score (0.7.2 ran the template score instead)."""
    from cadence.integrations.fastapi import cadence_endpoint

    template = Order(order_id="template")
    flow = Cadence("c", template).then("process", process)
    with pytest.warns(DeprecationWarning, match="CadenceRouter"):
        endpoint = cadence_endpoint(
            flow, lambda: Order(order_id="fresh"), response_mapper=lambda s: s.order_id
        )
    assert asyncio.iscoroutinefunction(endpoint)
    assert await endpoint() == "fresh"
    assert template.status == "new"


async def test_cadence_endpoint_errors() -> None:
    """Failures go to error_handler when given, else become problem+json without the message."""
    from cadence.integrations.fastapi import cadence_endpoint

    flow = Cadence("c", Order()).then("fail", fail)
    with pytest.warns(DeprecationWarning):
        handled = cadence_endpoint(
            flow, Order, error_handler=lambda e: JSONResponse({"error": "custom"}, 418)
        )
        plain = cadence_endpoint(flow, Order)
    assert (await handled()).status_code == 418
    response = await plain()
    assert response.status_code == 500 and b"secret internal detail" not in response.body


def test_cadence_dependency_called_directly_or_by_fastapi() -> None:
    """CadenceDependency works through Depends and when awaited directly (0.7.2's test style)."""
    from cadence.integrations.fastapi import CadenceDependency

    template = Order(order_id="template")
    dependency = CadenceDependency(Cadence("c", template).then("process", process))

    async def direct() -> Order:
        execute = await dependency()
        return await execute(Order(order_id="direct"))

    result = asyncio.run(direct())
    assert (result.order_id, result.status) == ("direct", "processed")
    assert template.status == "new"

    app = FastAPI()

    @app.post("/orders/{order_id}")
    async def create(order_id: str, run=Depends(dependency)):  # type: ignore[no-untyped-def]  # noqa: B008
        final = await run(Order(order_id=order_id))
        return {"status": final.status}

    assert TestClient(app).post("/orders/x").json() == {"status": "processed"}


def test_cadence_middleware_and_route_pass_through_with_a_warning() -> None:
    """CadenceMiddleware and CadenceRoute change nothing (as in 0.7.2) and warn."""
    from cadence.integrations.fastapi import CadenceMiddleware, CadenceRoute

    app = FastAPI()

    @app.get("/ok")
    async def ok() -> dict[str, str]:
        return {"status": "ok"}

    app.add_middleware(CadenceMiddleware, reporter=print, error_handler=print)
    with pytest.warns(DeprecationWarning, match="CadenceRouter"):
        client = TestClient(app)
        assert client.get("/ok").json() == {"status": "ok"}
    with pytest.warns(DeprecationWarning, match="CadenceRouter"):
        route = CadenceRoute("/r", ok, methods=["GET"])
    assert route.path == "/r"
