"""An empty token never turns auth off (issue 19, finding 2), on every entry point: the CLI's
options and environment variables, the WSGI factories, the config and both servers' constructors;
and a token the op store refuses stops ``chariots pipelines`` as the configuration error it is
(finding 18), where it retried forever as if the store were down."""
from __future__ import annotations

import time

import pytest
from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from chariots import wsgi
from chariots.cli import cli
from chariots.config import ChariotsConfig
from chariots.errors import ConfigError
from chariots.op_store import OpStoreClient, OpStoreServer
from chariots.op_store.savers import FileSaver
from chariots.pipelines import PipelinesServer
from tests import generative
from tests.cli.conftest import ChariotsProcess
from tests.config.conftest import runnable_docs_yaml
from tests.conftest import free_port

PIPELINES = "tests.config.pipelines_module:pipelines"
BLANKS = ["", " ", "\t", "  \n "]
VARIABLES = ["CHARIOTS_OP_STORE_AUTH_TOKEN", "CHARIOTS_PIPELINES_AUTH_TOKEN"]


@pytest.fixture
def config_file(tmp_path, monkeypatch):
    for variable in VARIABLES:
        monkeypatch.delenv(variable, raising=False)
    path = tmp_path / "config.yaml"
    path.write_text(runnable_docs_yaml(tmp_path, free_port(), free_port()))
    return path


def _refused(result, needle: str) -> None:
    assert result.exit_code == 2, result.output
    assert "Traceback" not in result.output and needle in " ".join(result.output.split()), result.output


@pytest.mark.parametrize("blank", BLANKS)
@pytest.mark.parametrize("command", [["op-store", "--auth-token"], ["pipelines", "-p", PIPELINES, "--auth-token"],
                                     ["pipelines", "-p", PIPELINES, "--op-store-auth-token"],
                                     ["workers", "--op-store-auth-token"]])
def test_an_empty_token_option_is_refused_before_anything_is_served(config_file, command, blank):
    result = CliRunner().invoke(cli, [command[0], "-c", str(config_file), *command[1:], blank])
    _refused(result, f"Invalid value for '{command[-1]}': is empty: give the token (any non-empty string clients "
                     "send as 'Authorization: Bearer <token>'), or leave the option out")


@pytest.mark.parametrize("blank", BLANKS)
@pytest.mark.parametrize("command, variable", [
    (["op-store"], "CHARIOTS_OP_STORE_AUTH_TOKEN"), (["pipelines", "-p", PIPELINES], "CHARIOTS_PIPELINES_AUTH_TOKEN"),
    (["pipelines", "-p", PIPELINES], "CHARIOTS_OP_STORE_AUTH_TOKEN"), (["workers"], "CHARIOTS_OP_STORE_AUTH_TOKEN"),
])
def test_an_empty_token_variable_is_refused(config_file, command, variable, blank):
    result = CliRunner().invoke(cli, [command[0], "-c", str(config_file), *command[1:]], env={variable: blank})
    if blank == "":
        _refused(result, f"the environment variable {variable} is set but empty: give it the token, or unset it to "
                         "serve without auth")
    else:
        _refused(result, "is empty: give the token")


def _in_process_entry_points(config_file, blank: str, monkeypatch):
    """Each in-process way of giving a token, given ``blank``: (name, call)."""
    config = ChariotsConfig(str(config_file))
    yield "OpStoreServer", lambda: OpStoreServer(FileSaver(str(config_file.parent / "m")), auth_token=blank)
    yield "PipelinesServer", lambda: PipelinesServer([], auth_token=blank, start=False, import_name="p")
    yield "OpStoreClient", lambda: OpStoreClient("http://127.0.0.1:1", auth_token=blank)
    yield "ChariotsConfig.get_op_store_client", lambda: config.get_op_store_client(auth_token=blank)
    yield "ChariotsConfig.get_pipelines_server", lambda: config.get_pipelines_server(auth_token=blank, start=False)
    yield "chariots.wsgi.op_store_app", lambda: wsgi.op_store_app(str(config_file), auth_token=blank)
    for variable in VARIABLES:
        def with_variable(variable=variable, factory=None):
            monkeypatch.setenv(variable, blank)
            try:
                return (factory or wsgi.pipelines_app)(str(config_file), [PIPELINES])
            finally:
                monkeypatch.delenv(variable)

        yield f"chariots.wsgi.pipelines_app with {variable}", with_variable
    yield "chariots.wsgi.op_store_app with CHARIOTS_OP_STORE_AUTH_TOKEN", lambda: _op_store_app_from_variable(
        config_file, blank, monkeypatch)


def _op_store_app_from_variable(config_file, blank, monkeypatch):
    monkeypatch.setenv("CHARIOTS_OP_STORE_AUTH_TOKEN", blank)
    try:
        return wsgi.op_store_app(str(config_file))
    finally:
        monkeypatch.delenv("CHARIOTS_OP_STORE_AUTH_TOKEN")


@pytest.mark.generative
@settings(suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(blank=st.text(alphabet=" \t\n\r\x0b\x0c\u00a0\u2003", max_size=6))
def test_no_blank_token_turns_auth_off_in_process(config_file, blank, monkeypatch):
    """The promise: every in-process entry point refuses every blank token with a ConfigError
    naming the setting; none builds a server or client without auth from it."""
    for name, call in _in_process_entry_points(config_file, blank, monkeypatch):
        generative.record("test_no_blank_token_turns_auth_off_in_process", f"{name}:{len(blank)}")
        with pytest.raises(ConfigError, match=r"auth_token(=\.\.\.\))? is empty: give (a|the server's) token|"
                                              r"CHARIOTS_\w+_AUTH_TOKEN is empty: give a token"):
            call()
            pytest.fail(f"{name} took the blank token {blank!r}")


def test_a_token_the_op_store_refuses_stops_chariots_pipelines(tmp_path):
    """Finding 18: with a wrong op store token, `chariots pipelines` retried forever."""
    op_store_port, pipelines_port = free_port(), free_port()
    path = tmp_path / "config.yaml"
    path.write_text(runnable_docs_yaml(tmp_path, op_store_port, pipelines_port))
    store = ChariotsProcess(["op-store", "-c", str(path), "--auth-token", "the-store-token"])
    try:
        store.wait_for_port(op_store_port)
        pipelines = ChariotsProcess(["pipelines", "-c", str(path), "-p", PIPELINES,
                                     "--op-store-auth-token", "a-wrong-token"])
        started = time.monotonic()
        try:
            code = pipelines.process.wait(60)
        finally:
            _, out, err = pipelines.stop()
        assert code != 0
        assert time.monotonic() - started < 60
        text = " ".join((out + err).split())
        assert "the op store refused this server's token (401)" in text, text
        assert "give `chariots pipelines` the op store's token with --op-store-auth-token or " \
               "CHARIOTS_OP_STORE_AUTH_TOKEN" in text
        assert "Traceback" not in out
    finally:
        store.stop()
