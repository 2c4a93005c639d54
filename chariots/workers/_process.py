"""A handle on a worker process started by :meth:`RQWorkerPool.spawn_worker`."""
from __future__ import annotations

import os
import signal
import subprocess
import time
from typing import Any, List, Optional


class WorkerProcess:
    """A worker process on this machine, started in its own session.

    :meth:`stop` ends it (and the work horse running its job); ``poll``, ``wait``,
    ``terminate``, ``kill`` and ``returncode`` behave as on :class:`subprocess.Popen`.

    :param process: the started process
    """

    def __init__(self, process: subprocess.Popen):
        self._process = process
        self._terminated: float = 0.0  # when SIGTERM was sent

    @property
    def pid(self) -> int:
        """the worker's process id (also its session and process group id)"""
        return self._process.pid

    @property
    def returncode(self) -> Optional[int]:
        """the exit status once the worker ended, else None"""
        return self._process.returncode

    def is_alive(self) -> bool:
        """whether the worker process is still running"""
        return self._process.poll() is None

    def poll(self) -> Optional[int]:
        """The exit status if the worker ended, else None (as :meth:`subprocess.Popen.poll`)."""
        return self._process.poll()

    def wait(self, timeout: Optional[float] = None) -> int:
        """Waits for the worker to end and returns its exit status.

        :raises subprocess.TimeoutExpired: if it still runs after ``timeout`` seconds
        """
        return self._process.wait(timeout)

    def terminate(self) -> None:
        """Asks the worker to stop once its current job is done (``SIGTERM``, RQ's warm shutdown)."""
        if self.is_alive() and not self._terminated:
            self._terminated = time.monotonic()
            self._process.terminate()

    def kill(self) -> None:
        """Kills the worker and every process of its session (its work horse) at once (``SIGKILL``)."""
        for pid in [self.pid, *self.session_pids()]:
            try:
                os.kill(pid, signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                pass
        if self.is_alive():
            self._process.kill()
        deadline = time.monotonic() + 5
        while self.session_pids() and time.monotonic() < deadline:  # killed, not gone yet
            time.sleep(0.02)

    def session_pids(self) -> List[int]:
        """The other processes of the worker's session, such as the work horse running a job.

        RQ puts the work horse in a process group of its own, but it stays in the worker's
        session. Empty where ``/proc`` cannot tell (not Linux).
        """
        pids = []
        try:
            entries = os.listdir("/proc")
        except OSError:
            return []
        for entry in entries:
            if not entry.isdigit() or int(entry) == self.pid:
                continue
            try:
                with open(f"/proc/{entry}/stat", "rb") as stat:
                    fields = stat.read().rsplit(b")", 1)[1].split()
            except OSError:
                continue
            # after the command name: state, ppid, pgrp, session
            if len(fields) > 3 and int(fields[3]) == self.pid and fields[0] != b"Z":
                pids.append(int(entry))
        return pids

    def stop(self, timeout: float = 30.0) -> Optional[int]:
        """Stops the worker: lets it finish its current job for ``timeout`` seconds, then ends it.

        Sends ``SIGTERM`` (RQ's warm shutdown), then a second ``SIGTERM`` (cold shutdown: the
        worker kills its work horse, and the job reads failed), then ``SIGKILL`` to the
        whole session.

        :param timeout: seconds the current job may take to finish
        :returns: the worker's exit status
        """
        if not self.is_alive():
            return self.returncode
        self.terminate()  # once: a second SIGTERM is RQ's cold shutdown
        try:
            return self._process.wait(timeout)
        except subprocess.TimeoutExpired:
            pass
        # RQ takes a second SIGTERM within a second of the first for a duplicate, and ignores it
        time.sleep(max(0.0, self._terminated + 1.5 - time.monotonic()))
        self._process.send_signal(signal.SIGTERM)
        try:
            return self._process.wait(5.0)
        except subprocess.TimeoutExpired:
            pass
        self.kill()
        return self._process.wait(10)

    def __enter__(self) -> "WorkerProcess":
        return self

    def __exit__(self, *exc_info: Any) -> None:
        self.stop()

    def __repr__(self) -> str:
        state = "running" if self.is_alive() else f"exited with {self.returncode}"
        return f"<WorkerProcess pid={self.pid} {state}>"
