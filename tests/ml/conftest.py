"""Fixtures of the ML tests: an in-memory op store, a runner and the iris data."""
from __future__ import annotations

import pytest
from sklearn import datasets

from chariots.pipelines.runners import SequentialRunner
from tests.fakes import InMemoryOpStore


@pytest.fixture
def store() -> InMemoryOpStore:
    return InMemoryOpStore()


@pytest.fixture(scope="session")
def runner() -> SequentialRunner:
    return SequentialRunner()


@pytest.fixture(scope="session")
def iris():
    """The iris features and targets as numpy arrays."""
    data = datasets.load_iris()
    return data.data, data.target


@pytest.fixture
def train_save_load(store, runner):
    """Runs the docs' workflow: register both pipelines (as a server does when it starts),
    train, save the training pipeline, load the prediction pipeline."""

    def workflow(train, pred):
        train.register(store)
        pred.register(store)
        runner.run(train)
        train.save(store)
        return pred.load(store)

    return workflow
