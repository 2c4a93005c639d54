"""Op store I/O: save then load a 100 MB model through OpStoreClient over HTTP vs a local file.

The op store server runs in a subprocess (werkzeug's threaded server, a FileSaver and a SQLite
file) so that its peak memory (``VmHWM`` in ``/proc/<pid>/status``) can be read. The same bytes
are then written to and read back from a local file, flushed to disk the way the FileSaver
does (``fsync``), and the throughputs are printed side by side as a ratio.
Goals: HTTP round trip >= 0.5x the raw file round trip; peak server memory < 3x the model size.

Run with ``python benchmarks/op_store_io.py [--size-mb 100] [--repeat 5]``; nothing is asserted.
"""

from __future__ import annotations

import argparse
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time

MB = 1024 * 1024


def serve(root: str, db_path: str, port: str) -> None:
    """The server process: an op store on 127.0.0.1:port."""
    import logging

    from werkzeug.serving import make_server

    from chariots.op_store import OpStoreServer
    from chariots.op_store.savers import FileSaver

    logging.getLogger("werkzeug").setLevel(logging.WARNING)  # no line per request
    server = OpStoreServer(FileSaver(root), db_url=f"sqlite:///{db_path}")
    make_server("127.0.0.1", int(port), server.flask, threaded=True).serve_forever()


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_for_port(port: int, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while True:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
            return
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.05)


def memory_kib(pid: int, field: str) -> int:
    """A memory figure of a process from /proc (VmHWM: peak resident set; VmRSS: current)."""
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    raise KeyError(field)


def raw_file_round_trip(payload: bytes, path: str) -> tuple[float, float]:
    """Seconds to write (and fsync) then read back the payload with plain file calls.

    Each run writes a new file and keeps it, as the op store keeps every version.
    """
    start = time.perf_counter()
    with open(path, "wb") as file:
        file.write(payload)
        file.flush()
        os.fsync(file.fileno())
    written = time.perf_counter()
    with open(path, "rb") as file:
        data = file.read()
    read = time.perf_counter()
    assert len(data) == len(payload)
    return written - start, read - written


def http_round_trip(client, payload: bytes, index: int) -> tuple[float, float]:
    """Seconds to save then load the payload through the op store client."""
    from chariots.versioning import Version

    version = Version().update_patch(str(index).encode())
    start = time.perf_counter()
    client.save_op_bytes("benchmark_model", version, payload)
    saved = time.perf_counter()
    data = client.get_op_bytes_for_version("benchmark_model", version)
    loaded = time.perf_counter()
    assert data == payload
    return saved - start, loaded - saved


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size-mb", type=int, default=100)
    parser.add_argument("--repeat", type=int, default=5)
    arguments = parser.parse_args()

    from chariots.op_store import OpStoreClient

    size = arguments.size_mb * MB
    payload = os.urandom(size)
    with tempfile.TemporaryDirectory(prefix="chariots-bench-") as directory:
        port = free_port()
        server = subprocess.Popen(
            [
                sys.executable,
                os.path.abspath(__file__),
                "--serve",
                os.path.join(directory, "saver"),
                os.path.join(directory, "op_store.db"),
                str(port),
            ],
        )
        try:
            wait_for_port(port)
            client = OpStoreClient(f"http://127.0.0.1:{port}")
            client.health_check()
            idle_kib = memory_kib(server.pid, "VmRSS")
            raw, http = [], []
            for index in range(arguments.repeat):
                # alternate which goes first: the disk's flush speed drifts between runs
                if index % 2:
                    http.append(http_round_trip(client, payload, index))
                    raw.append(raw_file_round_trip(payload, os.path.join(directory, f"raw{index}.bin")))
                else:
                    raw.append(raw_file_round_trip(payload, os.path.join(directory, f"raw{index}.bin")))
                    http.append(http_round_trip(client, payload, index))
            peak_kib = memory_kib(server.pid, "VmHWM")
        finally:
            server.terminate()
            server.wait(timeout=30)

    def throughput(seconds: float) -> float:
        return size / MB / seconds

    print(f"model: {arguments.size_mb} MB of random bytes, {arguments.repeat} runs of each, interleaved")
    ratios = {}
    for summary in (statistics.median, min):
        raw_save = summary(timing[0] for timing in raw)
        raw_load = summary(timing[1] for timing in raw)
        http_save = summary(timing[0] for timing in http)
        http_load = summary(timing[1] for timing in http)
        raw_total = summary(timing[0] + timing[1] for timing in raw)
        http_total = summary(timing[0] + timing[1] for timing in http)
        name = "median" if summary is statistics.median else "best"
        ratios[name] = raw_total / http_total
        print(f"{name + ' run':22}{'raw file':>14}{'op store HTTP':>16}{'ratio':>9}")
        for label, raw_seconds, http_seconds in (
            ("save (write+fsync)", raw_save, http_save),
            ("load (read)", raw_load, http_load),
            ("save then load", raw_total, http_total),
        ):
            print(
                f"  {label:20}{throughput(raw_seconds):>10.0f} MB/s{throughput(http_seconds):>12.0f} MB/s"
                f"{raw_seconds / http_seconds:>8.2f}x"
            )
    print(f"round trip vs raw file: {ratios['median']:.2f}x median, {ratios['best']:.2f}x best (goal >= 0.5x)")
    print(
        f"server memory: idle {idle_kib / 1024:.0f} MB, peak {peak_kib / 1024:.0f} MB "
        f"= {peak_kib * 1024 / size:.2f}x the model size (goal < 3x)"
    )


if __name__ == "__main__":
    if len(sys.argv) == 5 and sys.argv[1] == "--serve":
        serve(*sys.argv[2:])
    else:
        main()
