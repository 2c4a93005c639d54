"""Keras releases with known safe-mode bypasses are refused (issue 19, finding 13): the keras
extra requires 3.14.0 or later, and a process that has an older Keras refuses to load models with
it, naming the release and the command to run."""
from __future__ import annotations

import configparser
from pathlib import Path

import pytest

from chariots.errors import MissingExtraError
from chariots.ml.keras._keras_import import SAFE_KERAS, check_keras_version, import_keras

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize("version", ["3.0.0", "3.8.0", "3.9.2", "3.11.3", "3.12.1", "3.13.2", "3.13.0rc1",
                                     "2.15.0"])
def test_a_keras_with_a_known_safe_mode_bypass_is_refused(version):
    with pytest.raises(MissingExtraError, match=rf"^keras {version} is installed, and loading a \.keras file with it "
                                                r"can run code despite safe_mode \(CVE-2026-1462 and earlier\): "
                                                r"chariots needs keras>=3\.14\.0; run `pip install --upgrade "
                                                r"'chariots\[keras\]'`$"):
        check_keras_version(version)


@pytest.mark.parametrize("version", ["3.14.0", "3.14.1", "3.15.1", "3.20.0.dev2026", "4.0.0"])
def test_a_fixed_keras_is_taken(version):
    check_keras_version(version)


def test_the_extras_require_the_fixed_release_and_it_is_installed():
    setup = configparser.ConfigParser()
    setup.read(ROOT / "setup.cfg")
    for extra in ("keras", "test"):
        (requirement,) = [line.strip() for line in setup["options.extras_require"][extra].splitlines()
                          if line.strip().startswith("keras")]
        assert requirement == "keras>=" + ".".join(map(str, SAFE_KERAS[:2])), extra
    import_keras()  # the installed release passes the check
