"""A pickled payload planted in the op store over HTTP runs no code: every state's bytes are signed
with the secret key, and checked before anything unpickles them."""
import logging

import pytest
import requests

from chariots import Client
from chariots._signing import SigningKeys
from chariots.errors import SignatureError
from chariots.ml import MLMode
from chariots.op_store import OpStoreClient, OpStoreServer
from chariots.op_store.savers import FileSaver
from chariots.pipelines import PipelinesServer
from tests.ml.iris_ops import LogisticOp, getting_started_pipelines
from tests.security.conftest import KEY, OTHER_KEY, Planted, ml_op_bytes, newer_version

TOKEN = "a-token-for-the-op-store"


@pytest.fixture(params=["no-auth", "auth"])
def served(request, wsgi_server, tmp_path):
    """An op store over HTTP, a pipelines server using it, the iris pipelines trained and saved."""
    token = TOKEN if request.param == "auth" else None
    store_server = OpStoreServer(FileSaver(str(tmp_path / "models")), db_url=f"sqlite:///{tmp_path / 'store.db'}",
                                 auth_token=token)
    store_url = wsgi_server(store_server.flask)
    train, pred = getting_started_pipelines()
    store = OpStoreClient(store_url, auth_token=token, secret_key=KEY)
    client = Client(wsgi_server(PipelinesServer([train, pred], op_store_client=store, import_name="iris_app")))
    client.call_pipeline(train)
    client.save_pipeline(train)
    client.load_pipeline(pred)
    assert client.call_pipeline(pred, [[1, 2, 3, 4]]).value == [1]
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    yield store_url, headers, store, client, pred
    store.close()
    store_server.close()


def _plant(store_url, headers, blob: bytes):
    """What anyone who reaches the op store can do: upload bytes as the newest state of
    'logisticop', with the class and lineage of the real one, and commit it."""
    states = requests.get(f"{store_url}/ops/logisticop/states", headers=headers, timeout=10).json()["states"]
    real = states[-1]
    from chariots.versioning import Version

    planted = newer_version(Version.parse(real["version"]))
    answer = requests.put(f"{store_url}/ops/logisticop/uploads/{planted}", data=blob, headers=headers, timeout=10)
    assert answer.status_code == 201, answer.text
    record = {"op_name": "logisticop", "version": str(planted), "class_path": real["class_path"],
              "class_major": real["class_major"], "lineage": real["lineage"]}
    answer = requests.post(f"{store_url}/saves", json={"pipeline_name": None, "node_names": [],
                                                       "states": [record]}, headers=headers, timeout=10)
    assert answer.status_code == 201, answer.text
    return planted


def test_the_planted_payload_is_live_when_unpickled_without_a_check(marker):
    """The control: the payload the other tests plant does create the marker once unpickled."""
    LogisticOp(MLMode.PREDICT).load(ml_op_bytes(Planted(str(marker))))
    assert marker.exists()


def test_an_unsigned_pickle_planted_over_http_runs_no_code_and_the_server_keeps_serving(served, marker, caplog):
    store_url, headers, store, client, pred = served
    planted = _plant(store_url, headers, ml_op_bytes(Planted(str(marker))))

    with pytest.raises(SignatureError) as refused:
        store.get_op_bytes_for_version("logisticop", planted)
    assert str(refused.value).startswith(
        f"version {planted.major[:5]} of op 'logisticop' is refused: it carries no signature"
    )
    served_before = client.pipeline_versions(pred)["logisticop"]
    with caplog.at_level(logging.WARNING), pytest.raises(SignatureError) as load_refused:
        client.load_pipeline(pred)  # a state nobody holding the key wrote fails the load, loudly
    assert "it carries no signature" in str(load_refused.value)
    assert client.call_pipeline(pred, [[1, 2, 3, 4]]).value == [1]  # the server keeps serving what it served
    assert client.pipeline_versions(pred)["logisticop"] == served_before != planted
    assert not marker.exists()


def test_a_model_correctly_signed_with_another_key_is_refused(served, marker):
    store_url, headers, store, client, pred = served
    attacker = SigningKeys(OTHER_KEY)
    blob_version = None

    def signed_for(version):
        return attacker.sign_state("logisticop", version, ml_op_bytes(Planted(str(marker))))

    # the attacker signs for the very op and version it plants (it knows the version it picks)
    states = requests.get(f"{store_url}/ops/logisticop/states", headers=headers, timeout=10).json()["states"]
    from chariots.versioning import Version

    blob_version = newer_version(Version.parse(states[-1]["version"]))
    planted = _plant_at(store_url, headers, blob_version, signed_for(blob_version), states[-1])

    with pytest.raises(SignatureError, match=f"^version {planted.major[:5]} of op 'logisticop' is refused: it is "
                                             "signed with a key this process does not accept"):
        store.get_op_bytes_for_version("logisticop", planted)
    with pytest.raises(SignatureError, match="signed with a key this process does not accept"):
        client.load_pipeline(pred)
    assert client.call_pipeline(pred, [[1, 2, 3, 4]]).value == [1]
    assert not marker.exists()


def _plant_at(store_url, headers, version, blob, real):
    answer = requests.put(f"{store_url}/ops/logisticop/uploads/{version}", data=blob, headers=headers, timeout=10)
    assert answer.status_code == 201, answer.text
    record = {"op_name": "logisticop", "version": str(version), "class_path": real["class_path"],
              "class_major": real["class_major"], "lineage": real["lineage"]}
    answer = requests.post(f"{store_url}/saves", json={"pipeline_name": None, "node_names": [], "states": [record]},
                           headers=headers, timeout=10)
    assert answer.status_code == 201, answer.text
    return version


def test_a_state_signed_for_another_op_or_version_is_refused(tmp_path):
    keys = SigningKeys(KEY)
    from chariots.versioning import Version

    version = Version("a" * 40, "b" * 40, "c" * 40, creation_time=1.0)
    blob = keys.sign_state("pcaop", version, b"model")
    assert keys.unsign_state("pcaop", version, blob) == b"model"
    with pytest.raises(SignatureError, match="^version aaaaa of op 'logisticop' is refused: it is signed with a key"):
        keys.unsign_state("logisticop", version, blob)
    with pytest.raises(SignatureError, match="^version fffff of op 'pcaop' is refused"):
        keys.unsign_state("pcaop", newer_version(Version("f" * 40, "b" * 40, "c" * 40)), blob)
