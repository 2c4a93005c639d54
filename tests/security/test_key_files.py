"""Keys outside the data (issue 19, findings 4 and 9): an embedded store's key no longer lives in
the store's folder, so write access to the folder is no way to sign a model; a key file left
there by an earlier release is refused with the command that moves it out; key files others could
read or change are refused with the chmod to run."""
from __future__ import annotations

import os
import shlex
import subprocess

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from chariots._signing import SECRET_KEY_ENV, SECRET_KEY_FILE_ENV, SigningKeys, store_key_file
from chariots.errors import ConfigError, SignatureError
from chariots.op_store import EmbeddedOpStoreClient, OpStoreClient, OpStoreServer
from chariots.op_store.savers import FileSaver
from chariots.versioning import Version
from tests import generative
from tests.security.conftest import OTHER_KEY, Planted, ml_op_bytes

STATE = Version().update_major(b"a trained model")
PLANTED = Version().update_major(b"the attacker's model")


@pytest.fixture(autouse=True)
def no_key_in_the_environment(monkeypatch):
    monkeypatch.delenv(SECRET_KEY_ENV, raising=False)
    monkeypatch.delenv(SECRET_KEY_FILE_ENV, raising=False)


def _write_key(path, key: str = OTHER_KEY, mode: int = 0o600) -> None:
    path.write_text(key)
    os.chmod(path, mode)


def test_a_key_planted_in_an_embedded_stores_folder_signs_nothing_it_loads(tmp_path, marker):
    """Finding 4: replacing the key file in the store's folder and writing a state signed with the
    new key was accepted: folder write access ran code."""
    folder = tmp_path / "app"
    store = EmbeddedOpStoreClient(str(folder))
    store.save_op_bytes("model", STATE, b"the real model")
    # what a writer of the folder (not of the user's key folder) can do
    _write_key(folder / "secret_key")
    store.service.save_op_bytes("model", PLANTED, SigningKeys(OTHER_KEY).sign_state("model", PLANTED,
                                                                                   ml_op_bytes(Planted(str(marker)))))
    store.close()
    reopened = EmbeddedOpStoreClient(str(folder))
    with pytest.raises(ConfigError, match=r"holds a key file in its own folder .* where anyone who can write the store "
                                          r"could replace it, and it is not used: this store's key is .*; remove the "
                                          r"old one: `rm "):
        reopened.get_op_bytes_for_version("model", PLANTED)
    os.remove(folder / "secret_key")
    with pytest.raises(SignatureError, match="is signed with a key this process does not accept"):
        reopened.get_op_bytes_for_version("model", PLANTED)
    assert reopened.get_op_bytes_for_version("model", STATE) == b"the real model"
    assert not marker.exists()
    reopened.close()


@pytest.mark.parametrize("database", ["sqlite", "postgresql"])
def test_a_key_planted_in_a_served_stores_folder_signs_nothing(tmp_path, request, wsgi_server, marker, monkeypatch,
                                                              database):
    monkeypatch.setenv(SECRET_KEY_FILE_ENV, str(tmp_path / "keys" / "secret_key"))  # the clients' own key
    db_url = f"sqlite:///{tmp_path / 'store.db'}" if database == "sqlite" \
        else request.getfixturevalue("postgres_schema_url")
    server = OpStoreServer(FileSaver(str(tmp_path / "models")), db_url=db_url)
    client = OpStoreClient(wsgi_server(server.flask))
    client.save_op_bytes("model", STATE, b"the real model")
    _write_key(tmp_path / "models" / "secret_key")  # nobody reads a key there
    server.service.save_op_bytes("model", PLANTED, SigningKeys(OTHER_KEY).sign_state(
        "model", PLANTED, ml_op_bytes(Planted(str(marker)))))
    with pytest.raises(SignatureError, match="is signed with a key this process does not accept"):
        client.get_op_bytes_for_version("model", PLANTED)
    assert client.get_op_bytes_for_version("model", STATE) == b"the real model"
    assert not marker.exists()
    client.close()
    server.close()


def test_a_store_keyed_by_an_earlier_release_moves_its_key_out_with_the_command_given(tmp_path):
    folder = tmp_path / "app"
    earlier = EmbeddedOpStoreClient(str(folder), secret_key="the-key-an-earlier-release-made")
    earlier.save_op_bytes("model", STATE, b"a model saved by the earlier release")
    earlier.close()
    _write_key(folder / "secret_key", "the-key-an-earlier-release-made")  # where that release kept it
    store = EmbeddedOpStoreClient(str(folder))
    with pytest.raises(ConfigError) as refused:
        store.get_op_bytes_for_version("model", STATE)
    message = str(refused.value)
    assert message.startswith(f"the embedded op store at {folder} holds a key file in its own folder "
                              f"({folder / 'secret_key'})")
    assert "if you (not someone who can write the store's folder) wrote it, move it out: `" in message
    command = message.split("move it out: `", 1)[1].split("`", 1)[0]
    assert command == (f"mkdir -p -m 700 {os.path.dirname(store_key_file(str(folder)))} && mv "
                       f"{folder / 'secret_key'} {store_key_file(str(folder))} && chmod 600 "
                       f"{store_key_file(str(folder))}")
    subprocess.run(["sh", "-c", command], check=True)
    moved = EmbeddedOpStoreClient(str(folder))
    assert moved.get_op_bytes_for_version("model", STATE) == b"a model saved by the earlier release"
    assert shlex.split(command)[0] == "mkdir" and not (folder / "secret_key").exists()
    moved.close()
    store.close()


@pytest.mark.parametrize("mode", [0o644, 0o640, 0o604, 0o660, 0o606, 0o620, 0o610])
def test_a_key_file_open_to_others_is_refused_with_the_chmod(tmp_path, monkeypatch, mode):
    """Finding 9: key files were used whatever their mode."""
    (tmp_path / "keys").mkdir(mode=0o700)
    key_file = tmp_path / "keys" / "secret_key"
    _write_key(key_file, mode=mode)
    monkeypatch.setenv(SECRET_KEY_FILE_ENV, str(key_file))
    with pytest.raises(ConfigError, match=rf"^the secret key file {key_file} is open to others \(mode "
                                          rf"{oct(mode)}\): anyone who can read it can sign what this process "
                                          rf"loads; run `chmod 600 {key_file}`$"):
        OpStoreClient("http://127.0.0.1:1").signing_keys  # noqa: B018


@pytest.mark.parametrize("mode", [0o777, 0o775, 0o757, 0o1777, 0o730])
def test_a_key_file_in_a_folder_others_can_write_is_refused(tmp_path, monkeypatch, mode):
    folder = tmp_path / "keys"
    folder.mkdir()
    key_file = folder / "secret_key"
    _write_key(key_file)
    os.chmod(folder, mode)
    monkeypatch.setenv(SECRET_KEY_FILE_ENV, str(key_file))
    with pytest.raises(ConfigError, match=rf"^the secret key file {key_file} is in a folder others can write "
                                          rf"\({folder}, mode {oct(mode & 0o777)}\): they could replace the key; run "
                                          rf"`chmod go-w {folder}`"):
        OpStoreClient("http://127.0.0.1:1").signing_keys  # noqa: B018
    os.remove(key_file)
    with pytest.raises(ConfigError, match=rf"^cannot create the secret key file {key_file} in {folder}, a folder "
                                          r"others can write"):
        OpStoreClient("http://127.0.0.1:1").signing_keys  # noqa: B018
    assert not key_file.exists()


@pytest.mark.skipif(os.geteuid() != 0, reason="giving a file to another user needs root")
def test_a_key_file_of_another_user_is_refused(tmp_path, monkeypatch):
    (tmp_path / "keys").mkdir(mode=0o700)
    key_file = tmp_path / "keys" / "secret_key"
    _write_key(key_file)
    os.chown(key_file, 65534, 65534)
    monkeypatch.setenv(SECRET_KEY_FILE_ENV, str(key_file))
    with pytest.raises(ConfigError, match=rf"^the secret key file {key_file} belongs to another user \(uid 65534\)"):
        OpStoreClient("http://127.0.0.1:1").signing_keys  # noqa: B018


def test_a_key_file_that_is_a_symbolic_link_is_refused(tmp_path, monkeypatch):
    (tmp_path / "keys").mkdir(mode=0o700)
    _write_key(tmp_path / "elsewhere")
    (tmp_path / "keys" / "secret_key").symlink_to(tmp_path / "elsewhere")
    monkeypatch.setenv(SECRET_KEY_FILE_ENV, str(tmp_path / "keys" / "secret_key"))
    with pytest.raises(ConfigError, match=r"^cannot read the secret key file .*: .*; a key file is a plain file"):
        OpStoreClient("http://127.0.0.1:1").signing_keys  # noqa: B018


@pytest.mark.generative
@settings(suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(file_mode=st.integers(0o400, 0o777), folder_mode=st.integers(0o700, 0o777))
def test_a_key_file_is_used_only_when_no_one_else_can_read_or_change_it(tmp_path_factory, file_mode, folder_mode):
    """The promise, over every mode a file and its folder can have (owner able to read both)."""
    folder = tmp_path_factory.mktemp("keys")
    key_file = folder / "secret_key"
    _write_key(key_file, mode=file_mode)
    os.chmod(folder, folder_mode)
    private = not file_mode & 0o077 and not folder_mode & 0o022
    generative.record("test_a_key_file_is_used_only_when_no_one_else_can_read_or_change_it",
                      f"{bool(file_mode & 0o077)}:{bool(folder_mode & 0o022)}:{oct(file_mode & 0o066)}")
    from chariots._signing import read_or_create_key_file

    try:
        key = read_or_create_key_file(str(key_file))
    except ConfigError as refused:
        assert not private, refused
        assert "chmod" in str(refused)
    else:
        assert private and key == OTHER_KEY.encode()
    finally:
        os.chmod(folder, 0o700)
