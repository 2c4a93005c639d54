"""Heavy libraries load on first use: `import chariots` and `import chariots.ml` stay light."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]
HEAVY = ("keras", "jax", "tensorflow", "torch", "sklearn", "pandas")


def run_python(code: str, **env: str) -> str:
    environment = {key: value for key, value in os.environ.items() if key != "KERAS_BACKEND"}
    environment.update(env)
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, cwd=REPO_ROOT, env=environment
    )
    assert result.returncode == 0, result.stderr
    return result.stdout.strip()


def test_importing_chariots_and_its_ml_layer_imports_no_ml_framework():
    code = (
        "import sys\n"
        "import chariots, chariots.ml, chariots.ml.sklearn, chariots.ml.serializers, chariots.ml.keras\n"
        "from chariots import MLMode\n"
        "import chariots.sklearn, chariots.keras, chariots.serializers\n"
        f"print(sorted(name for name in {HEAVY!r} if name in sys.modules))"
    )
    assert run_python(code) == "[]"


def test_ml_mode_is_exported_at_the_top_level():
    assert run_python("from chariots import MLMode; print(MLMode.FIT_PREDICT.value)") == "fit_predict"


def test_keras_loads_on_the_jax_backend_when_the_first_keras_op_is_created():
    code = (
        "import sys\n"
        "from chariots.keras import KerasOp\n"
        "print('keras' in sys.modules)\n"
        "from tests.ml.keras_ops import KerasLinear\n"
        "from chariots import MLMode\n"
        "KerasLinear(MLMode.FIT)\n"
        "import keras\n"
        "print(keras.backend.backend())"
    )
    assert run_python(code).splitlines() == ["False", "jax"]


def test_a_missing_keras_asks_for_the_keras_extra():
    code = (
        "import sys\n"
        "sys.modules['keras'] = None  # what an environment without keras looks like to `import keras`\n"
        "from chariots import MLMode\n"
        "from chariots.errors import MissingExtraError\n"
        "from chariots.keras import KerasOp\n"
        "class Net(KerasOp):\n"
        "    def _init_model(self):\n"
        "        return None\n"
        "try:\n"
        "    Net(MLMode.FIT)\n"
        "except MissingExtraError as error:\n"
        "    print(type(error).__name__, isinstance(error, ImportError), error)\n"
    )
    assert run_python(code) == (
        "MissingExtraError True keras with its 'jax' backend is required for this feature: "
        "run `pip install chariots[keras]`"
    )
