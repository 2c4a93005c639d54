"""The docs' iris examples through a PipelinesClient against real servers on 127.0.0.1."""
import pytest

from chariots import Chariots, Client
from chariots.errors import VersionError
from chariots.op_store import OpStoreClient, OpStoreServer
from chariots.op_store.savers import FileSaver
from chariots.pipelines import PipelinesServer
from chariots.workers import JobStatus, RQWorkerPool
from tests.ml.iris_ops import client_docs_pipelines, getting_started_pipelines, train_in_docs_order
from tests.workers.conftest import wait_for


@pytest.fixture
def op_store_url(wsgi_server, tmp_path):
    """A real op store server (FileSaver + SQLite file) on 127.0.0.1."""
    server = OpStoreServer(FileSaver(str(tmp_path / "models")), db_url=f"sqlite:///{tmp_path / 'store.db'}")
    return wsgi_server(server.flask)


@pytest.fixture
def iris_client(wsgi_server, op_store_url):
    train_pca, train_logistic, pred = client_docs_pipelines()
    app = PipelinesServer([train_pca, train_logistic, pred], op_store_client=OpStoreClient(op_store_url),
                          import_name="iris_app")
    return Client(wsgi_server(app)), (train_pca, train_logistic, pred)


def test_client_docs_right_order_predicts_one(iris_client):
    client, (train_pca, train_logistic, pred) = iris_client
    train_in_docs_order(client, train_pca, train_logistic, pred)
    response = client.call_pipeline(pred, [[1, 2, 3, 4]])
    assert response.value == [1]
    assert client.pipeline_versions(pred)["logisticop"] == response.versions["logisticop"]


def test_client_docs_wrong_order_raises_version_error_in_the_client(iris_client):
    client, (train_pca, _, pred) = iris_client
    before = client.pipeline_versions(pred)
    client.call_pipeline(train_pca)
    client.save_pipeline(train_pca)
    with pytest.raises(VersionError, match=r"^the pipeline you requested cannot be loaded because of version "
                                           r"incompatibility. HINT: retrain and save/reload in order to have a "
                                           r"loadable version: no stored version of op 'logisticop' fits"):
        client.load_pipeline(pred)
    assert client.pipeline_versions(pred) == before


def test_getting_started_with_chariots_and_the_embedded_store(wsgi_server, tmp_path):
    train, pred = getting_started_pipelines()
    client = Client(wsgi_server(Chariots([train, pred], str(tmp_path / "app"), import_name="iris_app")))
    client.call_pipeline(train)
    client.save_pipeline(train)
    client.load_pipeline(pred)
    assert client.call_pipeline(pred, [[1, 2, 3, 4]]).value == [1]
    # a new server on the same folder (a restart) serves the saved models without any call
    train, pred = getting_started_pipelines()
    restarted = Client(wsgi_server(Chariots([train, pred], str(tmp_path / "app"), import_name="iris_app")))
    assert restarted.is_pipeline_loaded(pred)
    assert restarted.call_pipeline(pred, [[1, 2, 3, 4]]).value == [1]


def test_training_in_a_worker_saves_the_models_for_the_server_to_load(wsgi_server, op_store_url, redis_connection):
    train, pred = getting_started_pipelines()
    pool = RQWorkerPool(redis=redis_connection)
    app = PipelinesServer([train, pred], op_store_client=OpStoreClient(op_store_url), worker_pool=pool,
                          import_name="iris_app")
    client = Client(wsgi_server(app))
    try:
        response = client.call_pipeline(train, use_worker=True)
        assert response.job_status is JobStatus.queued
        pool.spawn_worker()
        finished = wait_for(client, response, train, timeout=60)
        assert finished.job_status is JobStatus.done, finished.error
        client.load_pipeline(pred)
        assert client.call_pipeline(pred, [[1, 2, 3, 4]]).value == [1]
    finally:
        pool.close()
