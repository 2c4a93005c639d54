"""ML overhead: predicting through a 2-op scikit-learn pipeline vs calling the estimators directly.

The pipeline is PCA -> LogisticRegression, both ops in ``MLMode.PREDICT``, run by
``SequentialRunner``; the direct call is ``logistic.predict(pca.transform(x))`` on the very same
fitted estimators. Measured for one row and 1,000 rows in one process, interleaved, and
printed as ratios (goal: at most 1.2x on one row). Run with ``python benchmarks/ml_overhead.py``;
nothing is asserted.
"""
from __future__ import annotations

import timeit
import warnings

import numpy as np
from sklearn import datasets
from sklearn.decomposition import PCA
from sklearn.linear_model import LogisticRegression

from chariots import MLMode, Pipeline
from chariots.ml.sklearn import SKSupervisedOp, SKUnsupervisedOp
from chariots.nodes import Node
from chariots.pipelines.runners import SequentialRunner
from chariots.versioning import VersionedField, VersionedFieldDict, VersionType


class PCAOp(SKUnsupervisedOp):
    training_update_version = VersionType.MAJOR
    model_parameters = VersionedFieldDict(VersionType.MAJOR, {"n_components": 2})
    model_class = VersionedField(PCA, VersionType.MAJOR)


class LogisticOp(SKSupervisedOp):
    model_class = LogisticRegression
    model_parameters = VersionedFieldDict(VersionType.MAJOR, {"max_iter": 500})


def trained_prediction_pipeline(x: np.ndarray, y: np.ndarray) -> Pipeline:
    """Trains both ops, then loads their bytes into PREDICT-mode ops, as a server would."""
    pca, logistic = PCAOp(MLMode.FIT_PREDICT), LogisticOp(MLMode.FIT)
    logistic.execute(pca.execute(x), y)
    pca_pred, logistic_pred = PCAOp(MLMode.PREDICT), LogisticOp(MLMode.PREDICT)
    pca_pred.load(pca.serialize())
    logistic_pred.load(logistic.serialize())
    return Pipeline(
        [
            Node(pca_pred, input_nodes=["__pipeline_input__"], output_nodes="x_pca"),
            Node(logistic_pred, input_nodes=["x_pca"], output_nodes="__pipeline_output__"),
        ],
        "pred",
    )


def per_call(function, number: int, repeat: int = 5) -> float:
    """The best (min) over ``repeat`` runs of the time per call, averaged over ``number`` calls."""
    return min(timeit.Timer(function).repeat(repeat=repeat, number=number)) / number


def main() -> None:
    warnings.simplefilter("ignore")
    x, y = datasets.load_iris(return_X_y=True)
    pipeline = trained_prediction_pipeline(x, y)
    runner = SequentialRunner()
    pca = pipeline.node_for_name["pcaop"].op.model
    logistic = pipeline.node_for_name["logisticop"].op.model

    rng = np.random.default_rng(0)
    inputs = {
        "1 row": x[:1].copy(),
        "1,000 rows": x[rng.integers(0, len(x), 1000)] + rng.normal(0, 0.1, (1000, 4)),
    }
    print("ML overhead: PCA -> LogisticRegression, PREDICT mode, SequentialRunner vs direct calls")
    for label, batch in inputs.items():

        def through_chariots(batch=batch):
            return runner.run(pipeline, batch)

        def direct(batch=batch):
            return logistic.predict(pca.transform(batch))

        np.testing.assert_array_equal(through_chariots(), direct())
        number = 2000 if len(batch) == 1 else 300
        chariots_times, direct_times = [], []
        for _ in range(3):  # interleaved, so both see the same machine conditions
            chariots_times.append(per_call(through_chariots, number))
            direct_times.append(per_call(direct, number))
        chariots_time, direct_time = min(chariots_times), min(direct_times)
        print(f"  {label}")
        print(f"    Chariots pipeline : {chariots_time * 1e6:9.1f} us per prediction")
        print(f"    direct estimators : {direct_time * 1e6:9.1f} us per prediction")
        print(f"    overhead          : {(chariots_time - direct_time) * 1e6:9.1f} us")
        goal = " (goal: <= 1.20x)" if len(batch) == 1 else ""
        print(f"    ratio             : {chariots_time / direct_time:9.3f}x{goal}")


if __name__ == "__main__":
    main()
