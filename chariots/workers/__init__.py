"""Workers running pipeline calls asynchronously (RQ on Redis by default)."""
from chariots._response import JobStatus
from chariots.workers._base_worker_pool import BaseWorkerPool
from chariots.workers._process import WorkerProcess
from chariots.workers._rq_job import DillRQSerializer
from chariots.workers._rq_worker_pool import RQWorkerPool
from chariots.workers._worker import run_worker

__all__ = ["BaseWorkerPool", "RQWorkerPool", "JobStatus", "DillRQSerializer", "WorkerProcess", "run_worker"]
