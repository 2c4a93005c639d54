"""Where the secret key comes from, key rotation, and keys never leaving their process."""
import os
import pickle
import stat
from pathlib import Path

import pytest

from chariots import Chariots
from chariots._signing import SECRET_KEY_ENV, SigningKeys, store_key_file
from chariots.errors import ConfigError, SignatureError
from chariots.op_store import EmbeddedOpStoreClient, OpStoreClient
from chariots.pipelines.runners import SequentialRunner
from tests.ml.iris_ops import getting_started_pipelines

OLD = "old-key-0123456789abcdef"
NEW = "new-key-0123456789abcdef"


def _train_and_save(store):
    train, pred = getting_started_pipelines()
    SequentialRunner().run(train)
    train.save(store)
    return pred


def test_key_rotation_keeps_old_models_loadable_and_signs_new_ones_with_the_new_key(tmp_path, monkeypatch):
    monkeypatch.delenv(SECRET_KEY_ENV, raising=False)
    _train_and_save(EmbeddedOpStoreClient(str(tmp_path), secret_key=OLD))

    rotated = EmbeddedOpStoreClient(str(tmp_path), secret_key=NEW, old_secret_keys=[OLD])
    pred = getting_started_pipelines()[1]
    pred.load(rotated)
    assert SequentialRunner().run(pred, [[1, 2, 3, 4]]) == [1]

    _train_and_save(rotated)  # a new training, signed with the new key only
    new_only = EmbeddedOpStoreClient(str(tmp_path), secret_key=NEW)
    newest = new_only.get_op_states("logisticop")[-1].version
    assert new_only.get_op_bytes_for_version("logisticop", newest)
    oldest = new_only.get_op_states("logisticop")[0].version
    with pytest.raises(SignatureError, match="^version .{5} of op 'logisticop' is refused: it is signed with a key "
                                             "this process does not accept"):
        new_only.get_op_bytes_for_version("logisticop", oldest)


def test_old_keys_come_from_the_environment_too(tmp_path, monkeypatch):
    monkeypatch.delenv(SECRET_KEY_ENV, raising=False)
    _train_and_save(EmbeddedOpStoreClient(str(tmp_path), secret_key=OLD))
    monkeypatch.setenv(SECRET_KEY_ENV, NEW)
    monkeypatch.setenv("CHARIOTS_OLD_SECRET_KEYS", f"something-else-entirely,{OLD}")
    pred = getting_started_pipelines()[1]
    pred.load(EmbeddedOpStoreClient(str(tmp_path)))
    assert SequentialRunner().run(pred, [[1, 2, 3, 4]]) == [1]


def test_the_embedded_default_creates_one_private_key_file_outside_the_app_path(tmp_path, monkeypatch):
    monkeypatch.delenv(SECRET_KEY_ENV, raising=False)
    train, pred = getting_started_pipelines()
    app = Chariots([train, pred], str(tmp_path / "app"), import_name="iris_app")
    app.op_store_client.signing_keys  # noqa: B018 - resolving the keys creates the file
    key_file = Path(store_key_file(str(tmp_path / "app")))
    assert not (tmp_path / "app" / "secret_key").exists()
    assert tmp_path / "app" not in key_file.parents and key_file.name.startswith("app-")
    assert stat.S_IMODE(os.stat(key_file).st_mode) == 0o600
    first = key_file.read_bytes()
    assert len(first) >= 32
    again = EmbeddedOpStoreClient(str(tmp_path / "app"))
    assert again.signing_keys.fingerprint == app.op_store_client.signing_keys.fingerprint
    assert key_file.read_bytes() == first
    other = EmbeddedOpStoreClient(str(tmp_path / "other-app"))
    assert other.signing_keys.fingerprint != again.signing_keys.fingerprint  # one key per store


@pytest.mark.parametrize("key", ["", "   ", "short"])
def test_an_empty_or_short_key_is_a_config_error(key):
    with pytest.raises(ConfigError, match=r"^secret_key is (empty|too short): a secret key needs at least 16 "
                                          "characters; generate one with"):
        OpStoreClient("http://127.0.0.1:1", secret_key=key)


def test_an_empty_environment_key_is_a_config_error(monkeypatch):
    monkeypatch.setenv(SECRET_KEY_ENV, "")
    with pytest.raises(ConfigError, match="^CHARIOTS_SECRET_KEY is empty"):
        OpStoreClient("http://127.0.0.1:1").signing_keys  # noqa: B018


def test_keys_are_never_pickled_and_never_shown(tmp_path):
    keys = SigningKeys(NEW)
    assert NEW not in repr(keys)
    with pytest.raises(TypeError, match="never leave their process"):
        pickle.dumps(keys)
    client = OpStoreClient("http://127.0.0.1:1", auth_token="the-token-value", secret_key=NEW)
    client.signing_keys  # noqa: B018
    shipped = pickle.dumps(client)
    assert b"the-token-value" not in shipped and NEW.encode() not in shipped
    assert "the-token-value" not in repr(client)
