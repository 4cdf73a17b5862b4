"""0.7.2's Prometheus extras: ``prometheus_reporter()`` and ``MetricsMiddleware``.

Both are reached as ``cadence.reporters.prometheus.<name>``. ``MetricsMiddleware`` is kept as
it was, a way to serve ``/metrics`` from an ASGI app; ``prometheus_reporter`` is a deprecated
spelling of ``PrometheusReporter(...)``.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

from cadence._compat import deprecated

__all__ = ["MetricsMiddleware", "prometheus_reporter"]

Scope = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[MutableMapping[str, Any]]]
Send = Callable[[MutableMapping[str, Any]], Awaitable[None]]


def prometheus_reporter(
    prefix: str = "cadence", track_active_flows: bool = True, *, reporter_class: Any
) -> Any:
    """Deprecated: a ``PrometheusReporter``; construct ``PrometheusReporter(prefix)`` instead.

    (``cadence.reporters.prometheus`` hands in ``reporter_class`` when the name is looked up.)
    """
    deprecated("prometheus_reporter(prefix)", "PrometheusReporter(prefix)")
    return reporter_class(prefix, track_active_flows)


async def _no_body() -> MutableMapping[str, Any]:
    return {"type": "http.request", "body": b"", "more_body": False}


class MetricsMiddleware:
    """ASGI middleware answering ``GET <path>`` with the Prometheus exposition text.

    ::

        app.add_middleware(MetricsMiddleware, path="/metrics")

    Every other request goes to the wrapped app unchanged.

    Args:
        app: The ASGI app to wrap.
        path: The path that serves the metrics.
        registry: The ``CollectorRegistry`` to expose; the default registry when omitted.
    """

    def __init__(self, app: Any, path: str = "/metrics", *, registry: Any = None) -> None:
        try:
            import prometheus_client
        except ImportError as exc:  # pragma: no cover - exercised only without the extra
            raise ImportError(
                "MetricsMiddleware needs prometheus-client: "
                "pip install 'cadence-orchestration[prometheus]'"
            ) from exc
        if not isinstance(path, str) or not path.startswith("/"):
            raise ValueError(f"path must start with '/', got {path!r}")
        self.app = app
        self.path = path
        chosen = prometheus_client.REGISTRY if registry is None else registry
        self._metrics = prometheus_client.make_asgi_app(registry=chosen)

    async def __call__(self, scope: Scope, receive: Receive | None, send: Send) -> None:
        if scope.get("type") == "http" and scope.get("path") == self.path:
            scope = {**scope, "headers": scope.get("headers") or []}
            await self._metrics(scope, receive or _no_body, send)
            return
        await self.app(scope, receive, send)
