"""``chariots sign-store``: a store written before signing becomes loadable under the configured
key once its unsigned states are signed, after a confirmation flag; states signed under a key
that is not accepted stay refused (issue 12)."""
from __future__ import annotations

import pytest
from click.testing import CliRunner

from chariots._signing import SigningKeys
from chariots.cli import cli
from chariots.errors import SignatureError
from chariots.op_store import EmbeddedOpStoreClient, sign_store
from chariots.op_store.savers import FileSaver
from chariots.versioning import Version
from tests.security.conftest import KEY, OTHER_KEY

OLD_STATE = Version().update_major(b"saved before signing")
SIGNED_STATE = Version().update_major(b"saved signed")
PLANTED_STATE = Version().update_major(b"planted")


@pytest.fixture
def old_store(tmp_path):
    """A store holding a state written before signing, a signed one, and one signed under another key."""
    folder = tmp_path / "store"
    client = EmbeddedOpStoreClient(str(folder), secret_key=KEY)
    client.service.save_op_bytes("model", OLD_STATE, b"model bytes from before signing")  # as stores kept them
    client.save_op_bytes("model", SIGNED_STATE, b"model bytes saved signed")
    planted = SigningKeys(OTHER_KEY).sign_state("model", PLANTED_STATE, b"an attacker's bytes")
    client.service.save_op_bytes("model", PLANTED_STATE, planted)
    config = tmp_path / "config.yaml"
    config.write_text(
        "op_store:\n"
        f"  op_store_db_url: sqlite:///{folder / 'op_store.sqlite3'}\n"
        "  saver_type: file-saver\n"
        f"  saver_kwargs: {{root_path: {folder}}}\n"
        f"  secret_key: {KEY}\n"
    )
    yield client, config
    client.close()


def test_sign_store_lists_then_signs_the_unsigned_states_after_yes(old_store):
    client, config = old_store
    with pytest.raises(SignatureError, match=r"^version [0-9a-f]{5} of op 'model' is refused: it carries no signature"):
        client.get_op_bytes_for_version("model", OLD_STATE)

    dry = CliRunner().invoke(cli, ["sign-store", "-c", str(config)], catch_exceptions=False)
    assert dry.exit_code == 0, dry.output
    lines = dry.output.splitlines()
    assert lines[0].startswith("Checked the states of the op store sqlite:///") and "under the key from secret_key" \
        in lines[0]
    assert lines[1:] == [
        f"  to sign: op 'model' version {str(OLD_STATE)[:5]}",
        f"  left as it is (signed under a key not accepted): op 'model' version {str(PLANTED_STATE)[:5]}",
        "1 state(s) to sign, 1 already signed, 1 signed under a key not accepted (left as they are), 0 unreadable",
        "Nothing was written: run again with --yes to sign them",
    ]
    with pytest.raises(SignatureError):  # the dry run wrote nothing
        client.get_op_bytes_for_version("model", OLD_STATE)

    signed = CliRunner().invoke(cli, ["sign-store", "-c", str(config), "--yes"], catch_exceptions=False)
    assert signed.exit_code == 0, signed.output
    assert f"  signed: op 'model' version {str(OLD_STATE)[:5]}" in signed.output.splitlines()
    assert signed.output.splitlines()[-1] == (
        "1 state(s) signed, 1 already signed, 1 signed under a key not accepted (left as they are), 0 unreadable"
    )
    assert client.get_op_bytes_for_version("model", OLD_STATE) == b"model bytes from before signing"
    assert client.get_op_bytes_for_version("model", SIGNED_STATE) == b"model bytes saved signed"
    with pytest.raises(SignatureError, match="is signed with a key this process does not accept"):
        client.get_op_bytes_for_version("model", PLANTED_STATE)

    again = CliRunner().invoke(cli, ["sign-store", "-c", str(config), "--yes"], catch_exceptions=False)
    assert again.output.splitlines()[-1].startswith("0 state(s) signed, 2 already signed, 1 signed under a key")


def test_sign_store_as_a_function_reports_missing_bytes(old_store, tmp_path):
    client, _ = old_store
    folder = tmp_path / "store"
    client.service.save_op_bytes("gone", OLD_STATE, b"bytes")
    for path in folder.rglob("*"):
        if path.is_file() and "gone" in path.parts:
            path.unlink()
    report = sign_store(FileSaver(str(folder)), f"sqlite:///{folder / 'op_store.sqlite3'}", secret_key=KEY)
    assert report.dry_run  # the default writes nothing
    assert report.signed == [("model", OLD_STATE)]
    assert [state for state, _ in report.unreadable] == [("gone", OLD_STATE)]
    assert "its bytes are missing" in report.unreadable[0][1]


def test_sign_store_needs_a_config(tmp_path):
    result = CliRunner().invoke(cli, ["sign-store"])
    assert result.exit_code == 2
    assert "--config is required: sign-store needs the op store's saver and database" in result.output
