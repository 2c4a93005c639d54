"""Op store I/O: save then load a 100 MB model through OpStoreClient over HTTP vs a local file.

The op store server runs in a subprocess (werkzeug's threaded server, a FileSaver and a SQLite
file) so that its peak memory (``VmHWM`` in ``/proc/<pid>/status``) can be read. The same bytes
are then written to and read back from a local file, flushed to disk the way the FileSaver
does (``fsync``), and the throughputs are printed side by side as a ratio.
Goals: HTTP round trip >= 0.5x the raw file round trip; peak server memory < 3x the model size.

With ``--s3``, the op store server uses an S3Saver on moto's S3 server (another process on
127.0.0.1): a 200 MB model is saved and loaded through it, and the op store process's peak memory
above its idle memory is printed as a ratio to the model size (goal < 1.5x: the saver streams).

Run with ``python benchmarks/op_store_io.py [--size-mb 100] [--repeat 5] [--s3]``; nothing is asserted.
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


def serve_s3(endpoint: str, bucket: str, db_path: str, port: str) -> None:
    """The server process of ``--s3``: an op store whose saver is an S3Saver on ``endpoint``."""
    import logging

    from werkzeug.serving import make_server

    from chariots.op_store import OpStoreServer
    from chariots.op_store.savers import S3Saver

    logging.getLogger("werkzeug").setLevel(logging.WARNING)
    saver = S3Saver(bucket=bucket, endpoint_url=endpoint, storage_options=S3_OPTIONS)
    server = OpStoreServer(saver, db_url=f"sqlite:///{db_path}")
    make_server("127.0.0.1", int(port), server.flask, threaded=True).serve_forever()


S3_OPTIONS = {"key": "benchmark", "secret": "benchmark-secret", "client_kwargs": {"region_name": "us-east-1"}}


def s3_memory(size_mb: int) -> None:
    """Saves then loads a model through an op store on an S3Saver; prints the store's peak memory."""
    import boto3

    from chariots.op_store import OpStoreClient

    size = size_mb * MB
    s3_port, store_port = free_port(), free_port()
    endpoint = f"http://127.0.0.1:{s3_port}"
    s3 = subprocess.Popen([sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(s3_port)],
                          stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    with tempfile.TemporaryDirectory(prefix="chariots-bench-") as directory:
        try:
            wait_for_port(s3_port)
            boto3.client("s3", endpoint_url=endpoint, region_name="us-east-1", aws_access_key_id="benchmark",
                         aws_secret_access_key="benchmark-secret").create_bucket(Bucket="benchmark")
            store = subprocess.Popen([sys.executable, os.path.abspath(__file__), "--serve-s3", endpoint, "benchmark",
                                      os.path.join(directory, "op_store.db"), str(store_port)])
            try:
                wait_for_port(store_port)
                client = OpStoreClient(f"http://127.0.0.1:{store_port}", timeout=600)
                client.health_check()
                idle_kib = memory_kib(store.pid, "VmRSS")
                payload = os.urandom(size)
                save, load = http_round_trip(client, payload, 0)
                peak_kib = memory_kib(store.pid, "VmHWM")
            finally:
                store.terminate()
                store.wait(timeout=30)
        finally:
            s3.terminate()
            s3.wait(timeout=30)
    extra = (peak_kib - idle_kib) * 1024
    print(f"S3Saver, {size_mb} MB model through an op store server on moto's S3 server")
    print(f"  save {size / MB / save:.0f} MB/s, load {size / MB / load:.0f} MB/s")
    print(f"  op store memory: idle {idle_kib / 1024:.0f} MB, peak {peak_kib / 1024:.0f} MB: "
          f"{extra / size:.2f}x the model size above idle (goal < 1.5x)")


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
    parser.add_argument("--s3", action="store_true", help="measure an S3Saver's memory instead (200 MB by default)")
    arguments = parser.parse_args()
    if arguments.s3:
        s3_memory(arguments.size_mb if "--size-mb" in sys.argv else 200)
        return

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
    elif len(sys.argv) == 6 and sys.argv[1] == "--serve-s3":
        serve_s3(*sys.argv[2:])
    else:
        main()
