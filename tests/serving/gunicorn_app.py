"""An app module for the gunicorn test: ``gunicorn tests.serving.gunicorn_app:app``."""
from chariots.pipelines import PipelinesServer
from tests.workers.worker_ops import is_odd_pipeline

app = PipelinesServer([is_odd_pipeline()], import_name="gunicorn_app")
