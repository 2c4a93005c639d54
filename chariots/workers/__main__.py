"""Runs an RQ worker for Chariots jobs: ``python -m chariots.workers --host H --port P``."""
from __future__ import annotations

import argparse
import os


def main(argv=None) -> None:
    """Parses the command line and works the Chariots queue until stopped."""
    parser = argparse.ArgumentParser(description="run an RQ worker for Chariots pipeline jobs")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=6379)
    parser.add_argument("--db", type=int, default=0)
    parser.add_argument("--burst", action="store_true", help="stop once the queue is empty")
    parser.add_argument("--log-level", default="INFO", help="the worker's logging level (default INFO)")
    arguments = parser.parse_args(argv)
    run_worker(arguments.host, arguments.port, arguments.db, burst=arguments.burst, log_level=arguments.log_level)


def run_worker(
    host: str, port: int, db: int = 0, burst: bool = False, password=None, log_level: str = "INFO"
) -> None:
    """Works the Chariots queue of the Redis at ``host:port``."""
    from redis import Redis
    from rq import Queue, Worker

    from chariots.workers._rq_job import DillRQSerializer
    from chariots.workers._rq_worker_pool import QUEUE_NAME

    redis = Redis(host=host, port=port, db=db, password=password or os.environ.get("CHARIOTS_REDIS_PASSWORD"))
    queue = Queue(QUEUE_NAME, connection=redis, serializer=DillRQSerializer)
    Worker([queue], connection=redis, serializer=DillRQSerializer).work(burst=burst, logging_level=log_level)


if __name__ == "__main__":
    main()
