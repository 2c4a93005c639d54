"""The code of the README, getting started and the iris tutorial runs when pasted into a file.

Each page's Python blocks are extracted and run in a new process, in an empty folder, as a
user who copies them would: no names injected, no test fixtures. The ``text`` blocks captioned
*Output* hold what the page says gets printed; the run must print exactly that.
"""
from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import List, NamedTuple

import pytest

from tests.conftest import free_port

ROOT = Path(__file__).resolve().parents[2]
_DIRECTIVE = re.compile(r"^(?P<indent> *)\.\. code-block:: *(?P<language>\S+)\s*$")


class Block(NamedTuple):
    language: str
    caption: str
    code: str


def _indent(line: str) -> int:
    return len(line) - len(line.lstrip())


def code_blocks(page: Path) -> List[Block]:
    """The ``code-block`` directives of a reST page, with their language, caption and text."""
    lines = page.read_text(encoding="utf-8").splitlines()
    blocks: List[Block] = []
    index = 0
    while index < len(lines):
        match = _DIRECTIVE.match(lines[index])
        index += 1
        if not match:
            continue
        indent = len(match["indent"])
        caption = ""
        # options (":caption: ..."), then a blank line, then the indented body
        while index < len(lines) and lines[index].strip().startswith(":"):
            name, _, value = lines[index].strip()[1:].partition(":")
            if name == "caption":
                caption = value.strip()
            index += 1
        body: List[str] = []
        while index < len(lines) and (not lines[index].strip() or _indent(lines[index]) > indent):
            body.append(lines[index])
            index += 1
        text = "\n".join(body).strip("\n")
        margin = min((len(line) - len(line.lstrip()) for line in text.splitlines() if line.strip()), default=0)
        code = "\n".join(line[margin:] for line in text.splitlines())
        blocks.append(Block(match["language"], caption, code + "\n"))
    return blocks


def expected_output(blocks: List[Block]) -> str:
    return "".join(block.code for block in blocks if block.language == "text" and block.caption == "Output")


def python_code(blocks: List[Block]) -> List[str]:
    return [block.code for block in blocks if block.language == "python"]


def run_script(folder: Path, name: str, code: str, timeout: float = 240) -> subprocess.CompletedProcess:
    script = folder / name
    script.write_text(code, encoding="utf-8")
    env = {key: value for key, value in os.environ.items() if key not in ("PYTHONPATH", "PYTEST_ADDOPTS")}
    return subprocess.run([sys.executable, str(script)], cwd=folder, env=env, capture_output=True, text=True,
                          timeout=timeout)


def test_the_extractor_reads_blocks_their_options_and_outputs(tmp_path):
    page = tmp_path / "page.rst"
    page.write_text(
        "Title\n=====\n\n.. code-block:: python\n\n    x = 1\n\n    print(x)\n\nText.\n\n"
        ".. code-block:: text\n    :caption: Output\n\n    1\n\n.. code-block:: console\n\n    $ ls\n"
    )
    assert code_blocks(page) == [
        Block("python", "", "x = 1\n\nprint(x)\n"), Block("text", "Output", "1\n"), Block("console", "", "$ ls\n"),
    ]
    assert expected_output(code_blocks(page)) == "1\n"


@pytest.mark.parametrize("page", ["docs/getting_started.rst", "docs/tutorials/iris.rst"])
def test_a_page_pasted_into_one_file_runs_and_prints_what_it_shows(page, tmp_path):
    pytest.importorskip("sklearn", reason=f"{page} needs chariots[sklearn]")
    blocks = code_blocks(ROOT / page)
    assert not any(">>>" in code for code in python_code(blocks)), "the copyable blocks hold no prompts"
    expected = expected_output(blocks)
    assert expected, f"{page} shows no output to check"
    result = run_script(tmp_path, "page.py", "\n".join(python_code(blocks)))
    assert result.returncode == 0, result.stderr
    assert result.stdout == expected
    assert (tmp_path / "iris_local").is_dir()  # the app's op store, where the page says


def _wait_for_port(port: int, process: subprocess.Popen, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while True:
        if process.poll() is not None:
            raise AssertionError(f"the server exited: {process.communicate()[1]}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            assert time.monotonic() < deadline, f"nothing listens on port {port} after {timeout} s"
            time.sleep(0.1)


def test_the_readme_tour_runs_with_the_app_served_by_flask(tmp_path):
    pytest.importorskip("sklearn", reason="the README tour needs chariots[sklearn]")
    blocks = code_blocks(ROOT / "README.rst")
    app_code, client_code = python_code(blocks)
    commands = [block.code.strip() for block in blocks if block.language == "console"]
    assert "$ flask --app iris_app run" in commands
    (tmp_path / "iris_app.py").write_text(app_code, encoding="utf-8")

    # `flask --app iris_app run` as the README says, on a free port instead of 5000 (so the
    # client's address is the one line of the page that changes)
    port = free_port()
    assert client_code.count("http://127.0.0.1:5000") == 1
    client_code = client_code.replace("http://127.0.0.1:5000", f"http://127.0.0.1:{port}")
    env = {key: value for key, value in os.environ.items() if key not in ("PYTHONPATH", "PYTEST_ADDOPTS")}
    server = subprocess.Popen(
        [sys.executable, "-m", "flask", "--app", "iris_app", "run", "--host", "127.0.0.1", "--port", str(port)],
        cwd=tmp_path, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True,
    )
    try:
        _wait_for_port(port, server)
        result = run_script(tmp_path, "client.py", client_code)
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        server.communicate(timeout=30)
    assert result.returncode == 0, result.stderr
    assert result.stdout == expected_output(blocks)
