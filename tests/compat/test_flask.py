"""0.7.2's Flask names keep working (each deprecated in favour of bp.cadence_route)."""

from __future__ import annotations

from typing import Any

import pytest
from flask import Flask

from cadence import Cadence, NoteError
from cadence.integrations.flask import CadenceBlueprint, CadenceExtension

from ._web import Order, as_dict, fail, process


@pytest.fixture
def app() -> Flask:
    app = Flask(__name__)
    app.config["TESTING"] = True
    return app


def test_cadence_route_runs_on_the_view_score_per_request(app: Flask) -> None:
    """@cadence_route(cadence) runs on the score the view returns, never on the template."""
    from cadence.integrations.flask import cadence_route

    template = Order(order_id="template")
    flow = Cadence("checkout", template).then("process", process)
    with pytest.warns(DeprecationWarning, match="cadence_route"):
        decorate = cadence_route(flow, response_factory=as_dict)

    @app.route("/orders/<order_id>", methods=["POST"])
    @decorate
    def create(order_id: str) -> Order:
        return Order(order_id=order_id)

    client = app.test_client()
    assert client.post("/orders/A1").get_json() == {"order_id": "A1", "status": "processed"}
    assert template.status == "new" and create.__name__ == "create"


def test_cadence_route_score_factory_and_plain_json(app: Flask) -> None:
    """score_factory(request) builds the score; without response_factory the score is JSON."""
    from cadence.integrations.flask import cadence_route

    flow = Cadence("checkout", Order()).then("process", process)
    with pytest.warns(DeprecationWarning):
        decorate = cadence_route(flow, score_factory=lambda req: Order(**req.get_json()))

    @app.route("/orders", methods=["POST"])
    @decorate
    def create() -> None:
        pass

    response = app.test_client().post("/orders", json={"order_id": "F1"})
    assert response.get_json() == {"order_id": "F1", "status": "processed"}


def test_cadence_route_errors(app: Flask) -> None:
    """error_handler(error) makes the response; without one the error reaches Flask."""
    from cadence.integrations.flask import cadence_route

    flow = Cadence("failing", Order()).then("fail", fail)
    caught: list[BaseException] = []

    def handle(error: Exception) -> Any:
        caught.append(error)
        return {"error": "handled"}, 400

    with pytest.warns(DeprecationWarning):
        handled, plain, empty = (
            cadence_route(flow, error_handler=handle),
            cadence_route(flow),
            cadence_route(flow),
        )
    app.add_url_rule("/handled", "handled", handled(lambda: Order()), methods=["POST"])
    app.add_url_rule("/plain", "plain", plain(lambda: Order()), methods=["POST"])
    app.add_url_rule("/empty", "empty", empty(lambda: None), methods=["POST"])
    client = app.test_client()
    response = client.post("/handled")
    assert response.status_code == 400 and isinstance(caught[0], NoteError)
    with pytest.raises(NoteError):
        client.post("/plain")
    with pytest.raises(ValueError, match="must return score or provide score_factory"):
        client.post("/empty")


def test_with_cadence_builds_the_score_from_the_request(app: Flask) -> None:
    """@with_cadence(ScoreClass) calls the view with a score from the body, query or URL."""
    from cadence.integrations.flask import with_cadence

    with pytest.warns(DeprecationWarning, match="cadence_route"):
        decorate = with_cadence(Order)
        custom = with_cadence(Order, from_request=lambda req: {"status": "custom"})

    @app.route("/inject/<order_id>", methods=["POST", "GET"])
    @decorate
    def inject(score: Order) -> dict[str, str]:
        return as_dict(score)

    app.add_url_rule("/custom", "custom", custom(as_dict), methods=["POST"])
    client = app.test_client()
    assert client.post("/inject/U1", json={"status": "b"}).get_json()["status"] == "b"
    assert client.get("/inject/U2?status=q").get_json() == {"order_id": "U2", "status": "q"}
    assert client.post("/custom").get_json()["status"] == "custom"
    bad = client.post("/inject/U3", json={"nope": 1})
    assert bad.status_code == 422 and bad.mimetype == "application/problem+json"


def test_blueprint_register_cadence_and_blueprint_property(app: Flask) -> None:
    """register_cadence serves a cadence at a rule; .blueprint is the blueprint itself."""
    bp = CadenceBlueprint("orders", __name__, url_prefix="/orders")
    flow = Cadence("bp_checkout", Order()).then("process", process)
    with pytest.warns(DeprecationWarning, match=r"cadence_route\(rule, cadence\)"):
        bp.register_cadence("/<order_id>", flow, methods=["POST"], response_factory=as_dict)
    with pytest.warns(DeprecationWarning):
        bp.register_cadence(
            "/made/<order_id>",
            flow,
            endpoint="made",
            score_factory=lambda req, order_id: Order(order_id=order_id.upper()),
            response_factory=as_dict,
        )
    with pytest.warns(DeprecationWarning, match="the CadenceBlueprint itself"):
        assert bp.blueprint is bp
    app.register_blueprint(bp)
    client = app.test_client()
    assert client.post("/orders/b1").get_json() == {"order_id": "b1", "status": "processed"}
    assert client.get("/orders/made/b2").get_json()["order_id"] == "B2"


def test_extension_setters(app: Flask) -> None:
    """set_reporter reports cadence routes' runs; set_error_handler answers CadenceErrors."""
    from cadence.integrations.flask import cadence_route

    ext = CadenceExtension(app)
    assert ext.reporter is None and ext.error_handler is None
    reports: list[str] = []
    with pytest.warns(DeprecationWarning, match="reporter="):
        ext.set_reporter(lambda name, seconds, score: reports.append(name))
    with pytest.warns(DeprecationWarning, match="errors="):
        ext.set_error_handler(lambda error: ({"code": error.code}, 409))
    with pytest.warns(DeprecationWarning):
        ok_route, failing = (
            cadence_route(
                Cadence("ok", Order()).then("process", process), response_factory=as_dict
            ),
            cadence_route(Cadence("bad", Order()).then("fail", fail)),
        )
    app.add_url_rule("/ok", "ok", ok_route(lambda: Order()), methods=["POST"])
    app.add_url_rule("/bad", "bad", failing(lambda: Order()), methods=["POST"])
    client = app.test_client()
    assert client.post("/ok").status_code == 200 and reports == ["process", "ok:TOTAL"]
    response = client.post("/bad")
    assert response.status_code == 409 and response.get_json() == {"code": "NOTE_ERROR"}
