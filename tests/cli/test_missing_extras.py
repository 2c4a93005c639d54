"""A missing optional dependency ends a command with the ``pip install chariots[extra]`` line, no traceback."""
import subprocess
import sys
import textwrap

from tests.cli.conftest import REPO_ROOT

#: runs ``chariots ARGS`` in a Python where importing psycopg (and psycopg2) fails, as if not installed
WITHOUT_PSYCOPG = textwrap.dedent(
    """
    import sys

    class NoPsycopg:
        def find_spec(self, name, path=None, target=None):
            if name.split(".")[0] in ("psycopg", "psycopg2"):
                raise ModuleNotFoundError(f"No module named {name!r}", name=name)
            return None

    sys.meta_path.insert(0, NoPsycopg())
    from chariots.cli import main
    main(sys.argv[1:])
    """
)


def run_without_psycopg(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-c", WITHOUT_PSYCOPG, *args], capture_output=True, text=True,
                          cwd=REPO_ROOT, timeout=60)


def test_the_blocker_really_blocks_psycopg():
    script = WITHOUT_PSYCOPG.replace("from chariots.cli import main\nmain(sys.argv[1:])", "import psycopg")
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=60)
    assert result.returncode == 1 and "No module named 'psycopg'" in result.stderr


def test_db_upgrade_on_postgresql_without_psycopg_names_the_extra():
    result = run_without_psycopg("db-upgrade", "--db-url", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
    assert result.returncode == 1, result.stderr
    assert "Traceback" not in result.stderr + result.stdout
    assert result.stderr.strip() == (
        "Error: psycopg is required for this feature: run `pip install chariots[postgres]`"
    )


def test_db_upgrade_with_a_driver_of_no_extra_says_how_to_get_one():
    result = run_without_psycopg("db-upgrade", "--db-url", "postgresql+psycopg2://postgres:secret@127.0.0.1/test")
    assert result.returncode == 1
    assert "Traceback" not in result.stderr + result.stdout
    assert result.stderr.strip() == (
        "Error: cannot upgrade the op store database postgresql+psycopg2://postgres:***@127.0.0.1/test: its "
        "database driver is not installed (No module named 'psycopg2'): install it with pip, or use a driver "
        "of an extra (postgresql+psycopg://: `pip install chariots[postgres]`)"
    )
