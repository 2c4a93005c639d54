"""The app factory of the gunicorn metrics test:
``gunicorn 'tests.operate.gunicorn_metrics_app:create_app()'`` (token from ``CHARIOTS_TEST_TOKEN``)."""
from __future__ import annotations

import os

from chariots.pipelines import PipelinesServer
from tests.workers.worker_ops import is_odd_pipeline


def create_app() -> PipelinesServer:
    """A pipelines server of the is_odd pipeline, behind the token of ``CHARIOTS_TEST_TOKEN``."""
    return PipelinesServer([is_odd_pipeline()], import_name="gunicorn_metrics_app",
                           auth_token=os.environ.get("CHARIOTS_TEST_TOKEN"))
