"""``chariots sign-store`` signs only what an unsigning release wrote (issue 19, findings 1 and
10): the store records when signing was enabled (migration 0005), the listing shows each state
with when it was written, a state uploaded after that time without a signature (a plant) is
never signed, a second run signs nothing, and without a configured key it refuses to run (it made
one and signed the whole store with it). On SQLite and PostgreSQL; planted pickles leave no marker.
"""
from __future__ import annotations

import os

import pytest
import requests
from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import create_engine, text

from chariots._signing import SECRET_KEY_ENV, SECRET_KEY_FILE_ENV, SigningKeys
from chariots.cli import cli
from chariots.errors import ConfigError, SignatureError
from chariots.op_store import OpStoreClient, OpStoreServer, sign_store
from chariots.op_store._names import op_bytes_path
from chariots.op_store.migrations import upgrade_database
from chariots.op_store.savers import FileSaver
from chariots.versioning import Version
from tests import generative
from tests.security.conftest import KEY, OTHER_KEY, Planted, ml_op_bytes

OLD_STATE = Version().update_major(b"saved before signing")
GONE_STATE = Version().update_major(b"saved before signing, bytes lost since")
SIGNED_STATE = Version().update_major(b"saved signed")
PLANTED_STATE = Version().update_major(b"planted unsigned after the upgrade")
FOREIGN_STATE = Version().update_major(b"planted signed under another key")


@pytest.fixture(params=["sqlite", "postgresql"])
def old_store(request, tmp_path, wsgi_server, marker, monkeypatch):
    """A store an unsigning release wrote (schema 0003, one unsigned state), upgraded by this
    release (which records when), then planted into over HTTP by someone without the key."""
    monkeypatch.delenv(SECRET_KEY_ENV, raising=False)
    monkeypatch.delenv(SECRET_KEY_FILE_ENV, raising=False)
    db_url = f"sqlite:///{tmp_path / 'store.db'}" if request.param == "sqlite" \
        else request.getfixturevalue("postgres_schema_url")
    folder = tmp_path / "models"
    saver = FileSaver(str(folder))
    upgrade_database(db_url, "0003")  # what the earlier release made, and wrote with
    engine = create_engine(db_url)
    with engine.begin() as connection:  # the rows that release wrote, in the columns of its schema
        connection.execute(text("INSERT INTO ops (name) VALUES ('model')"))
        op_id = connection.execute(text("SELECT id FROM ops WHERE name = 'model'")).scalar()
        for version, data in ((OLD_STATE, b"model bytes from before signing"), (GONE_STATE, b"lost")):
            saver.save(data, op_bytes_path("model", version))
            connection.execute(text("INSERT INTO versions (op_id, major, minor, patch, creation_time, saved_at) "
                                    "VALUES (:op, :major, :minor, :patch, :created, :saved)"),
                               {"op": op_id, "major": version.major, "minor": version.minor, "patch": version.patch,
                                "created": version.creation_time, "saved": version.creation_time})
    engine.dispose()
    os.remove(folder / op_bytes_path("model", GONE_STATE).lstrip("/"))

    server = OpStoreServer(saver, db_url=db_url)  # this release: migration 0005 records the time
    url = wsgi_server(server.flask)
    client = OpStoreClient(url, secret_key=KEY)
    client.save_op_bytes("model", SIGNED_STATE, b"model bytes saved signed")
    # what anyone who reaches the op store can do without the key (auth off, or any token holder)
    for version, blob in ((PLANTED_STATE, ml_op_bytes(Planted(str(marker)))),
                          (FOREIGN_STATE, SigningKeys(OTHER_KEY).sign_state("model", FOREIGN_STATE,
                                                                           ml_op_bytes(Planted(str(marker)))))):
        assert requests.put(f"{url}/ops/model/versions/{version}", data=blob, timeout=10).status_code == 201
    config = tmp_path / "config.yaml"
    config.write_text(f"op_store:\n  op_store_db_url: {db_url}\n  saver_type: file-saver\n"
                      f"  saver_kwargs: {{root_path: {folder}}}\n  secret_key: {KEY}\n")
    yield client, config, db_url, saver
    client.close()
    server.close()


def _short(version: Version) -> str:
    return str(version)[:5]


def test_sign_store_signs_only_what_was_written_before_signing_was_enabled(old_store, marker):
    client, config, _, _ = old_store
    with pytest.raises(SignatureError, match=r"^version [0-9a-f]{5} of op 'model' is refused: it carries no signature"):
        client.get_op_bytes_for_version("model", OLD_STATE)

    dry = CliRunner().invoke(cli, ["sign-store", "-c", str(config)], catch_exceptions=False)
    assert dry.exit_code == 0, dry.output
    lines = dry.output.splitlines()
    assert lines[0].startswith("Checked the states of the op store ") and "under the key from secret_key" in lines[0]
    assert lines[1].startswith("Signing was enabled on this store ") and lines[1].endswith(
        " UTC: only states written before then are signed")
    listed = [line.split(", written ")[0].strip() + " :" + line.split(" UTC: ", 1)[1] for line in lines[2:7]]
    assert listed[0] == f"op 'model' version {_short(OLD_STATE)} :to sign"
    assert listed[1].startswith(f"op 'model' version {_short(GONE_STATE)} :unreadable: ")
    assert listed[2] == f"op 'model' version {_short(SIGNED_STATE)} :already signed"
    assert listed[3] == (f"op 'model' version {_short(PLANTED_STATE)} :NOT SIGNED, no signature although written (or "
                         "rewritten) after signing was enabled: not by a process holding the key; remove it unless "
                         "you know who wrote it")
    assert listed[4] == f"op 'model' version {_short(FOREIGN_STATE)} :left as it is (signed under a key not accepted)"
    assert lines[7:] == [
        "1 state(s) to sign, 1 already signed, 1 written after signing was enabled without a signature (never "
        "signed), 1 signed under a key not accepted (left as they are), 1 unreadable",
        "Nothing was written: check the list, then run again with --yes to sign them",
    ]
    with pytest.raises(SignatureError):  # the dry run wrote nothing
        client.get_op_bytes_for_version("model", OLD_STATE)

    signed = CliRunner().invoke(cli, ["sign-store", "-c", str(config), "--yes"], catch_exceptions=False)
    assert signed.exit_code == 0, signed.output
    assert any(line.startswith(f"  op 'model' version {_short(OLD_STATE)}, written ") and line.endswith(": signed")
               for line in signed.output.splitlines())
    assert client.get_op_bytes_for_version("model", OLD_STATE) == b"model bytes from before signing"
    assert client.get_op_bytes_for_version("model", SIGNED_STATE) == b"model bytes saved signed"
    with pytest.raises(SignatureError, match="carries no signature"):
        client.get_op_bytes_for_version("model", PLANTED_STATE)
    with pytest.raises(SignatureError, match="is signed with a key this process does not accept"):
        client.get_op_bytes_for_version("model", FOREIGN_STATE)
    assert not marker.exists()


def test_a_second_run_signs_nothing_even_bytes_replaced_since(old_store, marker):
    client, config, db_url, saver = old_store
    report = sign_store(saver, db_url, secret_key=KEY, dry_run=False)
    assert [(state.op_name, state.version) for state in report.signed] == [("model", OLD_STATE)]
    # a writer of the store's folder replaces the old state's (now signed) bytes with a plant
    saver.save(ml_op_bytes(Planted(str(marker))), op_bytes_path("model", OLD_STATE))
    again = sign_store(saver, db_url, secret_key=KEY, dry_run=False)
    assert again.signed == [] and again.signed_before_at is not None
    assert ("model", OLD_STATE) in [(state.op_name, state.version) for state in again.written_after]
    assert any(line.startswith("sign-store signed this store ") and line.endswith(": it signs nothing more")
               for line in again.lines())
    with pytest.raises(SignatureError, match="carries no signature"):
        client.get_op_bytes_for_version("model", OLD_STATE)
    assert not marker.exists()


def test_sign_store_refuses_to_run_without_a_configured_key(old_store, tmp_path, monkeypatch):
    """Finding 10: with no key configured it made one and signed the whole store with it."""
    _, _, db_url, saver = old_store
    key_home = tmp_path / "fresh-key-home"
    monkeypatch.setenv("CHARIOTS_KEY_HOME", str(key_home))
    config = tmp_path / "no-key.yaml"
    config.write_text(f"op_store:\n  op_store_db_url: {db_url}\n  saver_type: file-saver\n"
                      f"  saver_kwargs: {{root_path: {saver.root_path}}}\n")
    result = CliRunner().invoke(cli, ["sign-store", "-c", str(config), "--yes"])
    assert result.exit_code == 1
    assert "Error: sign-store needs the key the servers and workers use, and none is configured: set " \
           "op_store.secret_key in the config, or CHARIOTS_SECRET_KEY, or CHARIOTS_SECRET_KEY_FILE naming the " \
           "existing key file; it never makes a key" in " ".join(result.output.split())
    monkeypatch.setenv(SECRET_KEY_FILE_ENV, str(tmp_path / "keys" / "missing_key"))
    with pytest.raises(ConfigError, match="^sign-store needs the key"):
        sign_store(saver, db_url, dry_run=False)
    assert not key_home.exists() and not (tmp_path / "keys").exists()  # no key was made


def test_sign_store_needs_a_config():
    result = CliRunner().invoke(cli, ["sign-store"])
    assert result.exit_code == 2
    assert "--config is required: sign-store needs the op store's saver and database" in result.output


def test_a_store_made_signing_has_nothing_to_sign(tmp_path, monkeypatch, wsgi_server, marker):
    db_url = f"sqlite:///{tmp_path / 'new.db'}"
    server = OpStoreServer(FileSaver(str(tmp_path / "m")), db_url=db_url)
    url = wsgi_server(server.flask)
    assert requests.put(f"{url}/ops/model/versions/{PLANTED_STATE}", data=ml_op_bytes(Planted(str(marker))),
                        timeout=10).status_code == 201
    report = sign_store(FileSaver(str(tmp_path / "m")), db_url, secret_key=KEY, dry_run=False)
    assert report.signed == [] and [state.version for state in report.written_after] == [PLANTED_STATE]
    server.close()
    assert not marker.exists()


ACTIONS = ["save signed", "plant unsigned", "plant foreign", "replace old bytes", "sign-store", "sign-store --yes"]


@pytest.mark.generative
@settings(suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(old_states=st.integers(0, 3), actions=st.lists(st.sampled_from(ACTIONS), max_size=7))
def test_whatever_happens_after_the_upgrade_only_the_key_holders_and_the_old_states_load(
        tmp_path_factory, old_states, actions):
    """The promise of sign-store, over random histories: whatever is planted, replaced or signed
    after signing was enabled, the states that load under the key are the ones the key holder saved
    and the old release's states with their original bytes, never a plant. (Bytes of an old state
    replaced between the upgrade and the first signing run are the documented limit: the store has
    no record of them to compare with; the history replaces them only after that run.)"""
    from chariots.op_store._database import OpStoreDatabase
    from chariots.op_store._service import OpStoreService
    from chariots.op_store._sign_store import sign_service_states

    folder = tmp_path_factory.mktemp("history")
    marker = folder / "pwned"
    db_url = f"sqlite:///{folder / 'store.db'}"
    saver = FileSaver(str(folder / "models"))
    upgrade_database(db_url, "0003")
    engine = create_engine(db_url)
    trusted = {}  # version -> the bytes that may load
    with engine.begin() as connection:
        connection.execute(text("INSERT INTO ops (name) VALUES ('model')"))
        for index in range(old_states):
            version = Version().update_major(f"old {index}".encode())
            trusted[version] = f"old model {index}".encode()
            saver.save(trusted[version], op_bytes_path("model", version))
            connection.execute(text("INSERT INTO versions (op_id, major, minor, patch, creation_time, saved_at) "
                                    "VALUES (1, :major, :minor, :patch, 1.0, 1.0)"),
                               {"major": version.major, "minor": version.minor, "patch": version.patch})
    engine.dispose()
    old = list(trusted)
    keys, plant = SigningKeys(KEY), ml_op_bytes(Planted(str(marker)))
    service = OpStoreService(saver, OpStoreDatabase(db_url))
    service.start()  # this release: signing enabled now
    generative.record("test_whatever_happens_after_the_upgrade_only_the_key_holders_and_the_old_states_load",
                      f"{old_states}:" + ",".join(action.split()[0] for action in actions))
    signed_once = False
    try:
        for step, action in enumerate(actions):
            version = Version().update_major(f"step {step}".encode())
            if action == "save signed":
                trusted[version] = f"new model {step}".encode()
                service.save_op_bytes("model", version, keys.sign_state("model", version, trusted[version]))
            elif action == "plant unsigned":
                service.save_op_bytes("model", version, plant)
            elif action == "plant foreign":
                service.save_op_bytes("model", version, SigningKeys(OTHER_KEY).sign_state("model", version, plant))
            elif action == "replace old bytes" and old and signed_once:
                replaced = old[step % len(old)]
                saver.save(plant, op_bytes_path("model", replaced))
                trusted.pop(replaced, None)  # its original bytes are gone: it must not load now
            elif action.startswith("sign-store"):
                sign_service_states(service, keys, dry_run=not action.endswith("--yes"))
                signed_once = signed_once or action.endswith("--yes")
            loaded = {}
            for stored in service.get_all_versions_of_op("model"):
                try:
                    loaded[stored] = keys.unsign_state("model", stored, service.get_op_bytes_for_version("model",
                                                                                                       stored))
                except SignatureError:
                    pass
            assert all(trusted.get(stored) == data for stored, data in loaded.items()), (actions, step)
            assert plant not in loaded.values()
        assert not marker.exists()
    finally:
        service.close()
