"""Bad arguments and bad configs: a clear message, a non-zero exit code, never a traceback."""
import socket

import pytest

from tests.cli.conftest import assert_clean_failure
from tests.conftest import HOST, free_port

MODULE = "tests.config.pipelines_module"


@pytest.fixture
def config_file(tmp_path):
    def write(text: str):
        path = tmp_path / "config.yaml"
        path.write_text(text)
        return str(path)

    return write


def test_unknown_command(run_cli):
    assert_clean_failure(run_cli("serve"), 2, "No such command 'serve'")


def test_op_store_needs_a_config(run_cli):
    assert_clean_failure(run_cli("op-store"), 2, "--config is required: the op store needs its saver")


def test_op_store_with_a_missing_config_file(run_cli, tmp_path):
    path = tmp_path / "missing.yaml"
    expected = f"config file {str(path)!r} does not exist: give the path of a YAML config file"
    assert_clean_failure(run_cli("op-store", "--config", str(path)), 1, expected)


def test_op_store_with_a_bad_config(run_cli, config_file):
    path = config_file("op_store:\n  saver_type: file-savr\n  saver_kwargs: {root_path: /tmp/x}\n")
    expected = (
        "op_store.saver_type must be one of 'file-saver', 'google-storage-saver', 's3-saver', 'fsspec-saver', "
        "got 'file-savr'; "
        "did you mean 'file-saver'?"
    )
    assert_clean_failure(run_cli("op-store", "--config", path), 1, expected)


def test_op_store_without_a_saver(run_cli, config_file):
    path = config_file("op_store:\n  server_port: 5001\n")
    expected = "op_store.saver_type and op_store.saver_kwargs are needed to build the op store server's saver"
    assert_clean_failure(run_cli("op-store", "--config", path), 1, expected)


def test_op_store_port_out_of_range(run_cli, config_file):
    path = config_file("op_store:\n  saver_kwargs: {root_path: /tmp/x}\n")
    assert_clean_failure(run_cli("op-store", "--config", path, "--port", "70000"), 2,
                         "Invalid value for '--port': 70000 is not in the range 1<=x<=65535")


def test_op_store_on_a_port_in_use(run_cli, config_file, tmp_path):
    path = config_file(f"op_store:\n  saver_kwargs: {{root_path: {tmp_path / 'ops'}}}\n")
    with socket.socket() as busy:
        busy.bind((HOST, 0))
        busy.listen()
        port = busy.getsockname()[1]
        result = run_cli("op-store", "--config", path, "--host", HOST, "--port", str(port))
    assert_clean_failure(result, 1, f"cannot serve the op store on {HOST}:{port}")


def test_pipelines_needs_pipelines(run_cli):
    assert_clean_failure(run_cli("pipelines"), 2, "Missing option '-p' / '--pipelines'")


@pytest.mark.parametrize(
    "reference, message",
    [
        ("pipelines_module",
         "'pipelines_module' is not MODULE:ATTRIBUTE, e.g. my_project.pipelines:pipelines"),
        ("no_such_module:pipelines",
         "cannot import module 'no_such_module': ModuleNotFoundError: No module named 'no_such_module'"),
        (f"{MODULE}:missing", f"module '{MODULE}' has no attribute 'missing'"),
        (f"{MODULE}:not_a_pipeline",
         f"{MODULE}:not_a_pipeline is a int, expected a Pipeline or a list of Pipelines"),
    ],
)
def test_pipelines_with_a_bad_reference(run_cli, reference, message):
    assert_clean_failure(run_cli("pipelines", "--pipelines", reference), 2,
                         f"Invalid value for '--pipelines': {message}")


def test_pipelines_twice_the_same_pipeline(run_cli):
    result = run_cli("pipelines", "-p", f"{MODULE}:add_one", "-p", f"{MODULE}:pipelines")
    assert_clean_failure(result, 1, "pipelines.pipelines has several pipelines named 'add_one'")


def test_pipelines_with_an_unreachable_op_store_starts_not_ready(chariots_process, config_file):
    import requests

    port, pipelines_port = free_port(), free_port()
    path = config_file(f"op_store:\n  server_host: {HOST}\n  server_port: {port}\n")
    server = chariots_process("pipelines", "--config", str(path), "--pipelines", f"{MODULE}:pipelines",
                              "--port", str(pipelines_port)).wait_for_port(pipelines_port)
    ready = requests.get(f"http://{HOST}:{pipelines_port}/ready", timeout=5)
    assert ready.status_code == 503
    # the open route names no host or port of the op store: the server's log does
    assert ready.json()["reasons"] == [
        "the op store could not be reached at start (ServiceUnavailableError: the op store is unreachable, see "
        "this server's log); retrying"
    ]
    assert str(port) not in ready.text
    _, _, log = server.stop()
    assert f"the op store cannot be reached (the op store at http://{HOST}:{port} is unreachable" in log


def test_workers_needs_a_config(run_cli):
    expected = "--config is required: the worker needs the pipelines_workers section"
    assert_clean_failure(run_cli("workers"), 2, expected)


def test_workers_without_a_workers_section(run_cli, config_file):
    path = config_file("pipelines:\n  server_port: 5000\n")
    expected = "pipelines_workers.worker_type is not set: set it to one of 'rq' to get a worker pool"
    assert_clean_failure(run_cli("workers", "--config", path), 1, expected)


def test_workers_with_an_unknown_worker_type(run_cli, config_file):
    path = config_file("pipelines_workers:\n  worker_type: celery\n")
    assert_clean_failure(run_cli("workers", "--config", path), 1,
                         "pipelines_workers.worker_type must be one of 'rq', got 'celery'")


def test_workers_with_redis_unreachable(run_cli, config_file):
    port = free_port()
    path = config_file(
        f"pipelines_workers:\n  worker_type: rq\n  worker_pool_kwargs:\n"
        f"    redis_kwargs: {{host: {HOST}, port: {port}, socket_connect_timeout: 2}}\n"
    )
    result = run_cli("workers", "--config", path, "--burst")
    assert_clean_failure(result, 1, f"cannot reach Redis at {HOST}:{port}")


def test_db_upgrade_needs_a_url_or_a_config(run_cli):
    expected = "give --db-url URL or --config FILE (with op_store.op_store_db_url)"
    assert_clean_failure(run_cli("db-upgrade"), 2, expected)


def test_db_upgrade_with_a_malformed_url(run_cli):
    assert_clean_failure(run_cli("db-upgrade", "--db-url", "not a url"), 2,
                         "Invalid value for '--db-url': 'not a url' is not a SQLAlchemy URL")


def test_db_upgrade_with_a_config_without_a_database(run_cli, config_file):
    path = config_file("op_store:\n  server_port: 5001\n")
    assert_clean_failure(run_cli("db-upgrade", "--config", path), 1, "has no op_store.op_store_db_url")


def test_db_upgrade_with_an_unreachable_database(run_cli):
    url = f"postgresql+psycopg://postgres@{HOST}:{free_port()}/nowhere"
    result = run_cli("db-upgrade", "--db-url", url)
    assert_clean_failure(result, 1, f"cannot upgrade the op store database {url}")


def test_db_upgrade_to_an_unknown_revision(run_cli, tmp_path):
    url = f"sqlite:///{tmp_path / 'op_store.db'}"
    assert_clean_failure(run_cli("db-upgrade", "--db-url", url, "--revision", "nope"), 1,
                         f"cannot upgrade the op store database {url}")


@pytest.mark.parametrize(
    "argument, message",
    [
        ("projet_name=x",
         "unknown template variable 'projet_name' (variables: project_name, author, email, description, "
         "version, license, use_iris_example); did you mean 'project_name'?"),
        ("project_name=my-project",
         "project_name 'my-project' cannot be a Python package name: use lower-case letters, digits and _, "
         "starting with a letter or _ (e.g. iris, my_project)"),
        ("project_name=json",
         "project_name 'json' cannot be a Python package name: a module of that name already exists and "
         "would be shadowed"),
        ("use_iris_example=maybe", "use_iris_example must be one of 'y', 'n', got 'maybe'"),
        ("no_equal_sign", "'no_equal_sign' is not KEY=VALUE, e.g. project_name=my_project"),
    ],
)
def test_new_with_bad_extra_context(run_cli, tmp_path, argument, message):
    result = run_cli("new", "--no-input", "--output-dir", str(tmp_path), "--extra-context", argument)
    assert_clean_failure(result, 2, f"Invalid value for '-e' / '--extra-context': {message}")
    assert list(tmp_path.iterdir()) == [tmp_path / "cookiecutter.yaml"]  # nothing was generated


def test_new_into_an_existing_project(run_cli, tmp_path):
    assert run_cli("new", "--no-input", "-o", str(tmp_path)).exit_code == 0
    expected = (
        f'"{tmp_path / "iris"}" directory already exists: choose another project_name or output folder, '
        "or overwrite it (chariots new --overwrite-if-exists)"
    )
    assert_clean_failure(run_cli("new", "--no-input", "-o", str(tmp_path)), 1, expected)
    assert run_cli("new", "--no-input", "-o", str(tmp_path), "--overwrite-if-exists").exit_code == 0


def test_new_refuses_a_bad_project_name_typed_at_the_prompt_and_asks_again(run_cli, tmp_path):
    answers = "Bad-Name\nflowers\n" + "\n" * 6
    result = run_cli("new", "-o", str(tmp_path), input=answers)
    assert result.exit_code == 0, result.output
    refusal = "Error: project_name 'Bad-Name' cannot be a Python package name"
    assert refusal in result.output
    # refused at its own prompt, before the second question is asked
    assert result.output.index(refusal) < result.output.index("[2/7]")
    assert (tmp_path / "flowers").is_dir() and not (tmp_path / "Bad-Name").exists()


def test_new_without_answers_on_a_closed_input(run_cli, tmp_path):
    result = run_cli("new", "-o", str(tmp_path), input="")
    assert_clean_failure(result, 1, "no answer to the template's questions (standard input is closed): "
                                    "run `chariots new --no-input` to use the defaults")
