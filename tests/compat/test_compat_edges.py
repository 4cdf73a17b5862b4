"""0.7.2 code mounted the way its documentation showed keeps serving requests."""

from __future__ import annotations

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from pydantic import BaseModel

from cadence import Cadence

from ._web import Order, as_dict, process


class OrderRequest(BaseModel):
    id: str


def _endpoint(factory):  # type: ignore[no-untyped-def]
    from cadence.integrations.fastapi import cadence_endpoint

    flow = Cadence("checkout", Order(order_id="template")).then("process", process)
    with pytest.warns(DeprecationWarning, match="CadenceRouter"):
        return cadence_endpoint(flow, score_factory=factory, response_mapper=as_dict)


def test_cadence_endpoint_mounted_on_an_app_takes_the_factory_parameters() -> None:
    """app.post(path)(cadence_endpoint(...)) fills score_factory's path, query and body values.

    The endpoint used to take only ``**kwargs``, so FastAPI required a query parameter named
    ``kwargs`` and answered every request with 422.
    """

    def from_body(order: OrderRequest) -> Order:
        return Order(order_id=order.id)

    app = FastAPI()
    app.post("/orders/{order_id}")(_endpoint(lambda order_id: Order(order_id=order_id)))
    app.get("/lookup")(_endpoint(lambda order_id: Order(order_id=order_id)))
    app.post("/orders")(_endpoint(from_body))
    app.put("/fields")(_endpoint(Order))
    client = TestClient(app)

    assert client.post("/orders/A1").json() == {"order_id": "A1", "status": "processed"}
    assert client.get("/lookup", params={"order_id": "Q7"}).json()["order_id"] == "Q7"
    assert client.post("/orders", json={"id": "B2"}).json()["order_id"] == "B2"
    assert client.put("/fields", params={"order_id": "C3"}).json()["order_id"] == "C3"
    missing = client.get("/lookup")
    assert missing.status_code == 422
    assert missing.json()["detail"][0]["loc"] == ["query", "order_id"]
