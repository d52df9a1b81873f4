"""Prometheus metrics of one app, in the app's own registry (never the process-global one).

``dataward_decisions_total{effect, data_class, action}`` counts policy decisions as they are
made; ``dataward_http_request_duration_seconds{method, route, status}`` and
``dataward_http_requests_total{method, route, status}`` describe the HTTP traffic. Label values
are vocabulary (effects, classes, actions, route templates, methods, status codes): never a
value from a request. ``GET /metrics`` serves :meth:`Metrics.exposition`.
"""

from __future__ import annotations

import threading
from typing import Final

from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Histogram
from prometheus_client.exposition import generate_latest

__all__ = ["CONTENT_TYPE", "LATENCY_BUCKETS", "Metrics"]

CONTENT_TYPE: Final = CONTENT_TYPE_LATEST

#: Seconds; tuned for a decision point (most answers well under 10 ms).
LATENCY_BUCKETS: Final = (
    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
)  # fmt: skip


class Metrics:
    """The service's counters and histograms; safe to use from any thread."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        self.decisions = Counter(
            "dataward_decisions",
            "Policy decisions answered, by effect, data class and action.",
            ("effect", "data_class", "action"),
            registry=self.registry,
        )
        self.request_duration = Histogram(
            "dataward_http_request_duration_seconds",
            "Time from the request's arrival to the end of its response.",
            ("method", "route", "status"),
            buckets=LATENCY_BUCKETS,
            registry=self.registry,
        )
        self.requests = Counter(
            "dataward_http_requests",
            "HTTP requests answered, by method, route template and status.",
            ("method", "route", "status"),
            registry=self.registry,
        )
        # labels() costs a lock and a tuple build per call: keep the children (few, bounded:
        # labels are vocabulary) in plain dicts read without a lock on the hot path.
        self._lock = threading.Lock()
        self._decision_children: dict[tuple[str, str, str], Counter] = {}
        self._request_children: dict[tuple[str, str, int], tuple[Histogram, Counter]] = {}

    def count_decision(self, effect: str, data_class: str, action: str, n: int = 1) -> None:
        key = (effect, data_class, action)
        child = self._decision_children.get(key)
        if child is None:
            with self._lock:
                child = self.decisions.labels(*key)
                self._decision_children[key] = child
        child.inc(n)

    def observe_request(self, method: str, route: str, status: int, seconds: float) -> None:
        key = (method, route, status)
        children = self._request_children.get(key)
        if children is None:
            with self._lock:
                labels = (method, route, str(status))
                children = (self.request_duration.labels(*labels), self.requests.labels(*labels))
                self._request_children[key] = children
        children[0].observe(seconds)
        children[1].inc()

    def exposition(self) -> bytes:
        """The text exposition format (``text/plain; version=0.0.4``)."""
        return generate_latest(self.registry)
