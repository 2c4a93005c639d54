"""``--help`` of the command and of every subcommand says what it does and how to call it."""
import subprocess
import sys

import pytest

import chariots
from chariots.cli import main

HELP = {
    (): ["chariots new", "chariots op-store -c config.yaml", "-p my_project.pipelines:pipelines",
         "chariots workers -c config.yaml", "chariots db-upgrade -c config.yaml", "Serve pipelines."],
    ("new",): ["--no-input", "--output-dir", "--extra-context", "use_iris_example", "--overwrite-if-exists"],
    ("op-store",): ["--config", "--host", "--port", "saver_type", "op_store_db_url", "--auth-token"],
    ("pipelines",): ["--config", "--pipelines", "MODULE:ATTRIBUTE", "--host", "--port", "--auth-token"],
    ("workers",): ["--config", "--burst", "pipelines_workers"],
    ("db-upgrade",): ["--config", "--db-url", "--revision", "op_store_db_url"],
}


@pytest.mark.parametrize("command, phrases", list(HELP.items()), ids=[" ".join(c) or "-" for c in HELP])
def test_help(run_cli, command, phrases):
    result = run_cli(*command, "--help")
    assert result.exit_code == 0
    text = " ".join(result.output.split())
    for phrase in phrases:
        assert phrase in text


def test_short_help_option(run_cli):
    assert run_cli("new", "-h").output == run_cli("new", "--help").output


def test_version(run_cli):
    result = run_cli("--version")
    assert result.exit_code == 0
    assert result.output.strip() == f"chariots, version {chariots.__version__}"


def test_main_is_the_console_entry_point(capsys):
    with pytest.raises(SystemExit) as info:
        main(["--help"])
    assert info.value.code == 0
    assert "Usage: chariots" in capsys.readouterr().out


def test_the_module_runs_as_a_script():
    result = subprocess.run([sys.executable, "-m", "chariots.cli", "--help"], capture_output=True, text=True,
                            timeout=60)
    assert result.returncode == 0
    assert "Usage: chariots" in result.stdout
