"""What the pipelines service tells operators: one log line and its metrics per train, load, save,
refused load and job state change (see :mod:`chariots._logging` and :mod:`chariots._metrics`)."""
from __future__ import annotations

import collections
import logging
import threading
from typing import TYPE_CHECKING, Any, Dict, Mapping, Optional, Tuple

from chariots._logging import short_version, version_changes

if TYPE_CHECKING:
    from chariots.pipelines import Batch

__all__ = ["ServiceObserver"]

logger = logging.getLogger("chariots.pipelines")

#: how many job ids the service remembers the last seen status of
_JOBS_REMEMBERED = 10_000


class ServiceObserver:
    """Logs and counts what happens to the served pipelines.

    :param metrics: also update the Prometheus metrics (logging happens either way)
    """

    def __init__(self, metrics: bool = True):
        self._metrics: Any = None
        if metrics:
            from chariots import _metrics

            self._metrics = _metrics.metrics()
        self._known: Dict[str, Dict[str, Any]] = {}
        # the runs counter's labelled children, found once (labels() takes a lock each time)
        self._runs: Dict[tuple, Any] = {}
        self._batches: Dict[str, Tuple[Any, Any]] = {}
        self._jobs: "collections.OrderedDict[str, str]" = collections.OrderedDict()
        self._lock = threading.Lock()

    # ------------------------------------------------------------------ served versions

    def served(self, pipeline_name: str, versions: Mapping[str, Any]) -> str:
        """Records the versions a pipeline now serves; returns the changes since the last record
        (``'pca 94e72 -> 1a2b3'``, '' when none or when nothing was recorded before)."""
        with self._lock:
            before = self._known.get(pipeline_name)
            self._known[pipeline_name] = dict(versions)
        if self._metrics is not None:
            gauge = self._metrics.served_version
            for op_name, version in versions.items():
                old = (before or {}).get(op_name)
                if old is not None and short_version(old) != short_version(version):
                    gauge.labels(pipeline_name, op_name, short_version(old)).set(0)
                if old is None or short_version(old) != short_version(version):
                    gauge.labels(pipeline_name, op_name, short_version(version)).set(1)
        return version_changes(before, versions) if before is not None else ""

    # ------------------------------------------------------------------ events

    def ran(self, pipeline_name: str, versions: Optional[Mapping[str, Any]], duration: float,
            error: Optional[BaseException] = None, batch: Optional[Batch] = None) -> None:
        """A run in this process ended (``versions`` after it; None when it failed or could not
        train, so there is nothing to compare; ``batch``: the input of a batched run, whose calls
        and rows are counted)."""
        if self._metrics is not None:
            key = (pipeline_name, "failed" if error is not None else "ok")
            counter = self._runs.get(key)
            if counter is None:
                counter = self._runs[key] = self._metrics.runs.labels(*key)
            counter.inc()
            if batch is not None:
                histograms = self._batches.get(pipeline_name)
                if histograms is None:
                    metrics = self._metrics
                    histograms = self._batches[pipeline_name] = (
                        metrics.batch_calls.labels(pipeline_name), metrics.batch_rows.labels(pipeline_name)
                    )
                histograms[0].observe(batch.calls)
                histograms[1].observe(batch.rows)
        if error is not None or versions is None:
            return
        with self._lock:
            known = pipeline_name in self._known
        if not known:
            self.served(pipeline_name, versions)
            return
        changes = self.served(pipeline_name, versions)
        if changes:
            if self._metrics is not None:
                self._metrics.trainings.labels(pipeline_name).inc()
            logger.info("trained pipeline %r in %.3fs: %s", pipeline_name, duration, changes,
                        extra={"event": "train", "pipeline": pipeline_name, "duration": duration})

    def overloaded(self, pipeline_name: str) -> None:
        """A call of a batched pipeline was refused: it waited its ``max_latency_ms`` behind a full
        queue (counted; the server logs the answer it sends)."""
        if self._metrics is not None:
            self._metrics.overloaded.labels(pipeline_name).inc()

    def loaded(self, pipeline_name: str, versions: Mapping[str, Any], duration: float) -> None:
        """A pipeline was loaded from the op store."""
        changes = self.served(pipeline_name, versions)
        if self._metrics is not None:
            self._metrics.loads.labels(pipeline_name, "ok").inc()
        logger.info("loaded pipeline %r in %.3fs: %s", pipeline_name, duration, changes or "no version changed",
                    extra={"event": "load", "pipeline": pipeline_name, "duration": duration})

    def refused(self, pipeline_name: str, error: BaseException, duration: float) -> None:
        """A load was refused (a :class:`~chariots.errors.VersionError`)."""
        if self._metrics is not None:
            self._metrics.loads.labels(pipeline_name, "version_error").inc()
            self._metrics.version_errors.labels(pipeline_name).inc()
        logger.warning("refused to load pipeline %r after %.3fs: %s", pipeline_name, duration, error,
                       extra={"event": "load_refused", "pipeline": pipeline_name, "duration": duration})

    def saved(self, pipeline_name: str, versions: Mapping[str, Any], duration: float) -> None:
        """A pipeline was saved to the op store."""
        with self._lock:
            before = self._known.get(pipeline_name, {})
        changes = ", ".join(
            f"{name} {short_version(version)}" if before.get(name) == version
            else f"{name} {short_version(before.get(name))} -> {short_version(version)}"
            for name, version in versions.items()
        )
        self.served(pipeline_name, versions)
        if self._metrics is not None:
            self._metrics.saves.labels(pipeline_name).inc()
        logger.info("saved pipeline %r in %.3fs: %s", pipeline_name, duration, changes,
                    extra={"event": "save", "pipeline": pipeline_name, "duration": duration})

    def job(self, pipeline_name: str, job_id: str, status: Any) -> None:
        """The server saw a job in a status (logged and counted once per status change)."""
        text = str(getattr(status, "value", status))
        with self._lock:
            previous = self._jobs.pop(job_id, None)
            self._jobs[job_id] = text
            while len(self._jobs) > _JOBS_REMEMBERED:
                self._jobs.popitem(last=False)
        if previous == text:
            return
        if self._metrics is not None:
            self._metrics.jobs.labels(pipeline_name, text).inc()
        change = f"{previous} -> {text}" if previous is not None else text
        logger.info("job %s of pipeline %r: %s", job_id, pipeline_name, change,
                    extra={"event": "job", "pipeline": pipeline_name, "job_id": job_id, "status": text})
