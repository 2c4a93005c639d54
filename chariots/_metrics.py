"""Prometheus metrics of both servers, with :mod:`prometheus_client`.

The metrics live once per process in a registry of their own (never the global default one, so an
application's own metrics do not clash with these), created on first use. Under a server with
several worker processes (gunicorn), set ``PROMETHEUS_MULTIPROC_DIR`` to an empty directory before
the server starts: every process then writes its values there and each scrape of ``/metrics``
adds them up across processes (prometheus_client's multiprocess mode).

Metrics (all prefixed ``chariots_``):

- ``http_requests_total{server, route, pipeline, method, status}`` and
  ``http_request_duration_seconds{server, route, pipeline}``: every request; ``route`` is the
  route's rule (``/pipelines/<pipeline_name>/main``), ``unmatched`` for unknown paths, and
  ``pipeline`` the served pipeline the route names ('' otherwise)
- ``pipeline_runs_total{pipeline, outcome}``: runs in this process (``ok`` or ``failed``)
- ``pipeline_trainings_total{pipeline}``: runs that changed the version of an op
- ``pipeline_loads_total{pipeline, outcome}``: loads (``ok`` or ``version_error``),
  ``pipeline_saves_total{pipeline}``, ``version_errors_total{pipeline}``
- ``served_op_version{pipeline, op, version}``: 1 for the version (short major) each op is served
  at, 0 for the versions it was served at before
- ``pipeline_batch_calls{pipeline}`` and ``pipeline_batch_rows{pipeline}``: histograms of how many
  calls and rows each run of a batched pipeline held (a run that failed and was split counts each
  part it ran again), and ``pipeline_calls_overloaded_total{pipeline}``: calls refused because
  they waited their ``max_latency_ms`` behind a full queue
- ``jobs_total{pipeline, status}``: worker jobs seen reaching each status (queued when sent)
- ``op_store_versions_saved_total``: op versions the op store recorded for the first time
"""
from __future__ import annotations

import os
import threading
from typing import Any, Optional, Tuple

__all__ = ["metrics", "exposition", "MULTIPROC_ENV", "Metrics"]

MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"
_BATCH_BUCKETS = (1, 2, 4, 8, 16, 32, 64, 128, 256, 512)
_LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)


class Metrics:
    """The metric objects of this process (see the module's list)."""

    def __init__(self) -> None:
        from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

        self.registry = CollectorRegistry(auto_describe=True)
        registry = self.registry
        self.requests = Counter(
            "chariots_http_requests_total", "HTTP requests answered, by server, route, pipeline, method and status",
            ["server", "route", "pipeline", "method", "status"], registry=registry,
        )
        self.latency = Histogram(
            "chariots_http_request_duration_seconds", "time to answer an HTTP request, by server, route and pipeline",
            ["server", "route", "pipeline"], buckets=_LATENCY_BUCKETS, registry=registry,
        )
        self.runs = Counter(
            "chariots_pipeline_runs_total", "pipeline runs in a server process, by pipeline and outcome",
            ["pipeline", "outcome"], registry=registry,
        )
        self.batch_calls = Histogram(
            "chariots_pipeline_batch_calls", "calls one run of a batched pipeline held", ["pipeline"],
            buckets=_BATCH_BUCKETS, registry=registry,
        )
        self.batch_rows = Histogram(
            "chariots_pipeline_batch_rows", "rows one run of a batched pipeline held", ["pipeline"],
            buckets=_BATCH_BUCKETS, registry=registry,
        )
        self.overloaded = Counter(
            "chariots_pipeline_calls_overloaded_total",
            "calls of a batched pipeline refused: they waited max_latency_ms behind a full queue", ["pipeline"],
            registry=registry,
        )
        self.trainings = Counter(
            "chariots_pipeline_trainings_total", "pipeline runs that changed the version of an op",
            ["pipeline"], registry=registry,
        )
        self.loads = Counter(
            "chariots_pipeline_loads_total", "pipeline loads from the op store, by pipeline and outcome",
            ["pipeline", "outcome"], registry=registry,
        )
        self.saves = Counter(
            "chariots_pipeline_saves_total", "pipeline saves to the op store", ["pipeline"], registry=registry,
        )
        self.version_errors = Counter(
            "chariots_version_errors_total", "loads refused because a model was trained on another upstream",
            ["pipeline"], registry=registry,
        )
        self.served_version = Gauge(
            "chariots_served_op_version", "1 for the version (short major) an op is served at, 0 for earlier ones",
            ["pipeline", "op", "version"], registry=registry, multiprocess_mode="mostrecent",
        )
        self.jobs = Counter(
            "chariots_jobs_total", "worker jobs seen reaching a status, by pipeline and status",
            ["pipeline", "status"], registry=registry,
        )
        self.op_store_saves = Counter(
            "chariots_op_store_versions_saved_total", "op versions the op store recorded for the first time",
            registry=registry,
        )

    def exposition(self) -> Tuple[bytes, str]:
        """The text of a scrape and its content type; the sum over every process in multiprocess mode."""
        from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest

        if os.environ.get(MULTIPROC_ENV):
            from prometheus_client import multiprocess

            registry = CollectorRegistry()
            multiprocess.MultiProcessCollector(registry)
            return generate_latest(registry), CONTENT_TYPE_LATEST
        return generate_latest(self.registry), CONTENT_TYPE_LATEST


_metrics: Optional[Metrics] = None
_lock = threading.Lock()


def metrics() -> Metrics:
    """The metrics of this process, created on first use."""
    global _metrics
    if _metrics is None:
        with _lock:
            if _metrics is None:
                _metrics = Metrics()
    return _metrics


def exposition() -> Tuple[bytes, str]:
    """What ``/metrics`` answers: the scrape text and its content type."""
    return metrics().exposition()


def label(value: Any) -> str:
    """A label value: the text of ``value`` ('' for None)."""
    return "" if value is None else str(value)
