"""Serving one state across many processes: served generations and staged trainings.

A pipelines server usually runs as several processes (gunicorn workers, hosts behind a load
balancer), and a ``load`` or a ``train`` request reaches only one of them. The state every
process serves therefore lives in the op store:

- **Served generations.** A successful load records the versions it checked as the pipeline's
  next *generation* (:meth:`OpStoreProtocol.record_generation`). Every process runs a
  :class:`GenerationFollower`: a daemon thread that asks the op store for the newest
  generation numbers (``GET /generations``, one small query) every ``poll_interval`` seconds
  and, for a pipeline whose number moved, loads exactly the recorded versions and swaps the
  pipeline's graph in one assignment. A request runs on a snapshot of the graph, so a response
  is computed wholly by one generation. The thread is started lazily in the process that
  serves (after gunicorn forks its workers): the request path only compares a process id.
  A generation a process cannot load (bytes missing or corrupt, code changed) leaves it
  serving the previous one; the reason shows in its readiness and logs, and it retries at
  every poll.
- **Staged trainings.** A run that trains uploads the states it changed and stages their
  records (:meth:`~chariots.pipelines.Pipeline.stage_training`); a save, in whichever process,
  commits the newest staged training of the pipeline (:meth:`OpStoreProtocol.commit_staged_training`).
"""
from __future__ import annotations

import logging
import os
import threading
import weakref
from typing import TYPE_CHECKING, Callable, Dict, Optional

from chariots._wire import public_reason
from chariots.errors import ServiceUnavailableError, VersionError

if TYPE_CHECKING:
    from chariots.pipelines import Generation, OpStoreProtocol, Pipeline

__all__ = ["GenerationFollower", "DEFAULT_POLL_INTERVAL"]

logger = logging.getLogger("chariots.pipelines")

#: seconds between two checks of the op store's generations (the bound on a process's lag)
DEFAULT_POLL_INTERVAL = 1.0
_MAX_BACKOFF = 10.0


def _check_complete(pipeline: "Pipeline", generation: "Generation") -> None:
    """Refuses a generation that does not name exactly this process's stateful ops (a process of
    another release, or a generation naming a subset): applying it would mix states."""
    here = set(pipeline.stateful_ops())
    named = set(generation.versions)
    if here != named:
        missing, extra = sorted(here - named), sorted(named - here)
        detail = "; ".join(part for part in (
            f"it does not name {', '.join(map(repr, missing))}" if missing else "",
            f"it names {', '.join(map(repr, extra))}, which this process's pipeline does not have" if extra else "",
        ) if part)
        raise VersionError(
            f"generation {generation.number} of pipeline {generation.pipeline_name!r} does not name exactly the "
            f"stateful ops this process serves ({detail}): it was recorded by another release of the pipeline. "
            "Deploy the same code on every process, then load the pipeline again"
        )


def _follow(reference: "weakref.ref[GenerationFollower]", stop: threading.Event) -> None:
    follower = reference()
    while follower is not None:
        wait = follower._wait()
        del follower
        if stop.wait(wait):
            return
        follower = reference()
        if follower is None:
            return
        try:
            follower.check()
        except Exception:  # the thread must survive anything: the next poll retries
            logger.exception("checking the served generations failed")


class GenerationFollower:
    """Keeps one process serving the newest generation of every pipeline (see the module doc).

    :param pipelines: the served pipelines, by name
    :param locks: each pipeline's lock (a swap waits for a training run of the pipeline)
    :param store: the op store recording the generations
    :param poll_interval: seconds between two checks of the op store
    :param start_pipelines: what loads every pipeline at start (retried with backoff while the
                            op store cannot be reached)
    """

    def __init__(
        self,
        pipelines: Dict[str, "Pipeline"],
        locks: Dict[str, threading.Lock],
        store: "OpStoreProtocol",
        poll_interval: float = DEFAULT_POLL_INTERVAL,
        start_pipelines: Optional[Callable[[], None]] = None,
    ):
        if poll_interval <= 0:
            raise ValueError(f"poll_interval must be a positive number of seconds, got {poll_interval!r}")
        self._pipelines = pipelines
        self._locks = locks
        self._store = store
        self.poll_interval = poll_interval
        self._start_pipelines = start_pipelines
        self.started = start_pipelines is None
        self.start_error: Optional[str] = None
        self.served: Dict[str, int] = {}
        self.recorded: Dict[str, int] = {}
        self.problems: Dict[str, str] = {}
        self._pid: Optional[int] = None
        self._thread_lock = threading.Lock()
        self._stop = threading.Event()
        self._backoff = poll_interval

    # ------------------------------------------------------------------ lifecycle

    def ensure_following(self) -> None:
        """Starts this process's follower thread unless it runs (cheap: called on every request)."""
        if self._pid == os.getpid():
            return
        with self._thread_lock:
            if self._pid == os.getpid():
                return
            forked = self._pid is not None
            self._pid = os.getpid()
            self._stop = threading.Event()
            if forked:  # a forked process serves what its parent loaded: check before the first request
                self.check()
            # the thread holds the follower weakly: it ends once its server is dropped
            thread = threading.Thread(target=_follow, args=(weakref.ref(self), self._stop),
                                      name="chariots-generations", daemon=True)
            thread.start()

    def stop(self) -> None:
        """Stops the follower thread of this process."""
        self._stop.set()
        self._pid = None

    def _wait(self) -> float:
        return self.poll_interval if self.started else self._backoff

    # ------------------------------------------------------------------ state

    def start_failed(self, error: Exception) -> None:
        """Records that the start-up load could not reach the op store (the thread retries)."""
        self.started = False
        # shown by the open /ready route: no host or port (the log line has them)
        self.start_error = public_reason(error)

    def lagging(self) -> Dict[str, str]:
        """Why each pipeline does not serve the newest recorded generation, by pipeline name."""
        reasons = dict(self.problems)
        for name, number in self.recorded.items():
            if number > self.served.get(name, 0) and name not in reasons:
                reasons[name] = f"serves generation {self.served.get(name, 0)}, the op store records {number}"
        return reasons

    def mark_served(self, generation: "Generation") -> None:
        """Records that this process serves a generation it just recorded or applied."""
        name = generation.pipeline_name
        self.served[name] = max(self.served.get(name, 0), generation.number)
        self.recorded[name] = max(self.recorded.get(name, 0), generation.number)
        self.problems.pop(name, None)

    # ------------------------------------------------------------------ following

    def check(self) -> None:
        """One poll: finishes the start-up load if it failed, then applies every newer generation."""
        if not self.started:
            try:
                self._start_pipelines()
            except ServiceUnavailableError as error:
                self.start_failed(error)
                self._backoff = min(self._backoff * 2, _MAX_BACKOFF)
                logger.warning("the op store still cannot be reached (%s): retrying in %.1f s", error,
                               self._backoff)
                return
            self.started = True
            self.start_error = None
            logger.info("the op store answered: every pipeline is loaded")
            return
        try:
            numbers = self._store.generation_numbers()
        except ServiceUnavailableError as error:
            logger.warning("cannot check the served generations: %s", error)
            return
        for name, number in numbers.items():
            if name not in self._pipelines:
                continue
            self.recorded[name] = max(self.recorded.get(name, 0), number)
            if number > self.served.get(name, 0):
                self.apply_latest(name)

    def apply_latest(self, pipeline_name: str) -> Optional[int]:
        """Loads the newest generation of a pipeline and swaps to it; on failure keeps serving
        the previous one and records why.

        :returns: the generation now served (None: none was recorded, or it could not be loaded)
        :raises ServiceUnavailableError: if the op store cannot be reached
        """
        try:
            generation = self._store.latest_generation(pipeline_name)
            if generation is None:
                self.problems.pop(pipeline_name, None)
                return None
            self.recorded[pipeline_name] = max(self.recorded.get(pipeline_name, 0), generation.number)
            pipeline = self._pipelines[pipeline_name]
            with self._locks[pipeline_name]:
                if generation.number <= self.served.get(pipeline_name, 0):
                    return self.served[pipeline_name]
                _check_complete(pipeline, generation)
                # the generation carries the states it names: only the bytes of new states are fetched
                states = {name: [state] for name, state in generation.states.items()}
                pipeline.load(self._store, versions=generation.versions, states=states)
                self.mark_served(generation)
        except ServiceUnavailableError:  # an outage, not a generation this process cannot load
            raise
        except Exception as error:  # noqa: BLE001 - anything a load can raise keeps the previous generation
            what = f"cannot load generation {self.recorded.get(pipeline_name, '?')} of pipeline {pipeline_name!r}"
            # the open routes (/ready, health checks) show the public reason, the log the whole one
            reason = f"{what}: {public_reason(error)}"
            if self.problems.get(pipeline_name) != reason:
                logger.error("%s: %s: %s; it keeps serving generation %d and retries", what, type(error).__name__,
                             error, self.served.get(pipeline_name, 0))
            self.problems[pipeline_name] = reason
            return None
        logger.info("pipeline %r serves generation %d (%s)", pipeline_name, generation.number,
                    ", ".join(f"{op} {version.major[:5] if version is not None else '(no state)'}"
                              for op, version in sorted(generation.versions.items())))
        return generation.number
