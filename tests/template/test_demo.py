"""``make demo``: train, save, load, predict, then the version check a retrained PCA trips."""
from __future__ import annotations

import re
import subprocess
import sys


def test_the_demo_shows_the_version_error_then_recovers(tmp_path):
    env_output = subprocess.run(
        [sys.executable, "-m", "chariots.demo", str(tmp_path)],
        capture_output=True, text=True, timeout=300,
    )
    assert env_output.returncode == 0, env_output.stdout + env_output.stderr
    out = env_output.stdout
    steps = [line for line in out.splitlines() if line.startswith("==> ")]
    assert [step.split(" (")[0].split(",")[0] for step in steps] == [
        f"==> scaffolding the iris example project in {tmp_path}",
        "==> starting its pipelines server on http://127.0.0.1:" + steps[1].split(":")[2].split(" ")[0],
        "==> training the PCA and the random forest",
        "==> loading them in the prediction pipeline 'pred_iris' and predicting",
        "==> retraining the PCA alone",
        "==> loading 'pred_iris' again: the forest was never trained on the new PCA",
        "==> retraining the forest on the new PCA",
        "==> loading 'pred_iris' again and predicting",
        "==> stopping the server",
    ]
    assert out.count("prediction for [[1, 2, 3, 4]]: [1], by the ops:") == 2
    assert "    VersionError: " in out and "'irisrf'" in out and "'irispca'" in out

    # short versions: the PCA changes major with its retraining, the forest with its own
    versions = re.findall(r"^    (irispca|irisrf|fromarray) +([0-9a-f]{5})\.([0-9a-f]{5})\.([0-9a-f]{5})$", out, re.M)
    by_op = {}
    for name, *parts in versions:
        by_op.setdefault(name, []).append(tuple(parts))
    first_pca, kept_pca, new_pca = by_op["irispca"]
    first_rf, kept_rf, new_rf = by_op["irisrf"]
    assert kept_pca == first_pca and kept_rf == first_rf  # the refused load changed nothing
    assert new_pca[0] != first_pca[0]
    assert new_rf != first_rf

    project = tmp_path / "iris_demo"
    assert (project / "setup.cfg").exists() and list((project / "iris_demo_local").iterdir())
    assert out.rstrip().endswith(f"cd {project} && pip install -e . && iris_demo start")
