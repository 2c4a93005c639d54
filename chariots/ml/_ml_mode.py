"""The modes an ML op runs in: train, predict, or both."""
from __future__ import annotations

import enum


class MLMode(enum.Enum):
    """What an ML op does when its node runs: train its model, predict with it, or both."""

    FIT = "fit"
    PREDICT = "predict"
    FIT_PREDICT = "fit_predict"
