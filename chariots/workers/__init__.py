"""Workers running pipeline calls asynchronously (RQ on Redis by default)."""
from chariots.pipelines._serving import JobStatus
from chariots.workers._base_worker_pool import BaseWorkerPool
from chariots.workers._rq_job import DillRQSerializer
from chariots.workers._rq_worker_pool import RQWorkerPool

__all__ = ["BaseWorkerPool", "RQWorkerPool", "JobStatus", "DillRQSerializer"]
