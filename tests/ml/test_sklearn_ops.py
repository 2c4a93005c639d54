"""scikit-learn ops: the docs' iris examples, versions, serialization and bad input."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from sklearn.cluster import KMeans
from sklearn.decomposition import PCA
from sklearn.ensemble import GradientBoostingClassifier, RandomForestClassifier
from sklearn.linear_model import LinearRegression, LogisticRegression
from sklearn.pipeline import Pipeline as SKPipeline
from sklearn.preprocessing import StandardScaler
from sklearn.svm import SVC

import chariots.sklearn
from chariots import MLMode
from chariots.errors import MLOpError, PipelineError
from chariots.ml.sklearn import BaseSKOp, SKSupervisedOp, SKUnsupervisedOp
from chariots.versioning import VersionedField, VersionedFieldDict, VersionType
from tests.ml.iris_ops import (
    IrisPCA,
    IrisRF,
    LogisticOp,
    PCAOp,
    getting_started_pipelines,
    tutorial_pipelines,
)

REPO_ROOT = Path(__file__).resolve().parents[2]

# the docs' LogisticRegression is used on unscaled iris: its convergence warning is expected
pytestmark = pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")


def trained(op_class, *data, mode=MLMode.FIT):
    op = op_class(mode)
    op.execute(*data)
    return op


def loaded(op_class, source):
    op = op_class(MLMode.PREDICT)
    op.load(source.serialize())
    return op


def test_the_short_alias_is_the_ml_subpackage():
    assert chariots.sklearn.SKSupervisedOp is SKSupervisedOp
    assert sorted(chariots.sklearn.__all__) == ["BaseSKOp", "SKSupervisedOp", "SKUnsupervisedOp"]
    assert SKSupervisedOp.predict_function == "predict"
    assert SKUnsupervisedOp.predict_function == "transform"
    assert BaseSKOp.model_class is None


def test_getting_started_iris_predicts_1(train_save_load, runner):
    train, pred = getting_started_pipelines()
    pred = train_save_load(train, pred)
    assert runner.run(pred, [[1, 2, 3, 4]]) == [1]
    assert runner.run(pred, np.array([[5.1, 3.5, 1.4, 0.2], [6.7, 3.0, 5.2, 2.3]])) == [0, 2]
    # the prediction pipeline now holds the versions the training pipeline saved
    for name in ("pcaop", "logisticop"):
        assert pred.node_for_name[name].node_version == train.node_for_name[name].node_version


def test_tutorial_random_forest_on_data_frames_predicts_1(train_save_load, runner):
    train_iris, pred_iris = tutorial_pipelines()
    pred_iris = train_save_load(train_iris, pred_iris)
    features = ["sepal length (cm)", "sepal width (cm)", "petal length (cm)", "petal width (cm)"]
    assert runner.run(pred_iris, pd.DataFrame([[1, 2, 3, 4]], columns=features)) == [1]
    forest = pred_iris.node_for_name["irisrf"].op.model
    assert isinstance(forest, RandomForestClassifier)
    assert (forest.n_estimators, forest.max_depth) == (5, 2)


def test_sklearn_ops_take_numpy_arrays_and_data_frames(iris):
    x, y = iris
    frame = pd.DataFrame(x, columns=list("abcd"))
    from_frame = trained(LogisticOp, frame, pd.Series(y))
    from_array = trained(LogisticOp, x, y)
    predictor = loaded(LogisticOp, from_frame)
    np.testing.assert_array_equal(predictor.execute(frame), loaded(LogisticOp, from_array).execute(x))
    pca = trained(PCAOp, frame, mode=MLMode.FIT_PREDICT)
    assert pca.model.n_features_in_ == 4


def test_fit_predict_trains_on_all_inputs_and_predicts_on_the_first(iris):
    x, y = iris
    op = LogisticOp(MLMode.FIT_PREDICT)
    prediction = op.execute(x, y)
    expected = LogisticRegression().fit(x, y).predict(x)
    np.testing.assert_array_equal(prediction, expected)


def test_each_fit_trains_a_fresh_estimator(iris):
    x, y = iris
    op = LogisticOp(MLMode.FIT)
    first_model = op.model
    op.execute(x, y)
    second_model = op.model
    op.execute(x, y)
    assert len({id(first_model), id(second_model), id(op.model)}) == 3
    assert not hasattr(first_model, "coef_")


def test_predict_function_can_be_changed(iris):
    x, y = iris

    class ProbaOp(LogisticOp):
        predict_function = VersionedField("predict_proba", VersionType.MINOR)

    class ClusterOp(SKUnsupervisedOp):
        model_class = KMeans
        model_parameters = VersionedFieldDict(
            VersionType.MAJOR, {"n_clusters": 3, "n_init": 2, "random_state": 0}
        )
        predict_function = "predict"

    probabilities = loaded(ProbaOp, trained(ProbaOp, x, y)).execute(x[:2])
    assert probabilities.shape == (2, 3)
    np.testing.assert_allclose(probabilities.sum(axis=1), 1)
    assert ProbaOp.__version__.minor != LogisticOp.__version__.minor
    clusters = loaded(ClusterOp, trained(ClusterOp, x)).execute(x)
    assert set(clusters) == {0, 1, 2}
    transformed = PCAOp(MLMode.FIT_PREDICT).execute(x)
    np.testing.assert_allclose(transformed, PCA(n_components=2).fit_transform(x))


def test_fit_extra_parameters_reach_fit_and_the_version(iris):
    x, y = iris
    weights = np.linspace(0.1, 1, len(y))

    class WeightedRegression(SKSupervisedOp):
        model_class = LinearRegression
        fit_extra_parameters = VersionedFieldDict(VersionType.MINOR, {"sample_weight": weights})

    class EvenRegression(WeightedRegression):
        fit_extra_parameters = VersionedFieldDict(VersionType.MINOR, {"sample_weight": np.ones(len(y))})

    op = trained(WeightedRegression, x, y)
    np.testing.assert_allclose(op.model.coef_, LinearRegression().fit(x, y, sample_weight=weights).coef_)
    assert not np.allclose(op.model.coef_, LinearRegression().fit(x, y).coef_)
    weighted, even = WeightedRegression.__version__, EvenRegression.__version__
    assert (weighted.major, weighted.patch) == (even.major, even.patch)
    assert weighted.minor != even.minor


def test_retraining_changes_the_major_of_a_major_op_and_the_patch_of_a_patch_op(iris):
    x, y = iris
    for op_class, changed in ((PCAOp, "major"), (LogisticOp, "patch")):
        op = op_class(MLMode.FIT)
        untrained = op.op_version
        arguments = (x,) if op_class is PCAOp else (x, y)
        op.execute(*arguments)
        first = op.op_version
        op.execute(*arguments)
        second = op.op_version
        for before, after in ((untrained, first), (first, second)):
            for sub_version in ("major", "minor", "patch"):
                same = getattr(before, sub_version) == getattr(after, sub_version)
                assert same is (sub_version != changed), (op_class.__name__, sub_version)


def test_changing_model_parameters_changes_the_documented_sub_version():
    class BiggerForest(IrisRF):  # IrisRF's model_parameters affect the minor version
        model_parameters = VersionedFieldDict(VersionType.MINOR, {"n_estimators": 10, "max_depth": 2})

    class ThreeComponents(PCAOp):  # PCAOp's affect the major version
        model_parameters = VersionedFieldDict(VersionType.MAJOR, {"n_components": 3})

    class OtherModel(PCAOp):  # and so does its VersionedField model_class
        model_class = VersionedField(KMeans, VersionType.MAJOR)

    rf, bigger = IrisRF.__version__, BiggerForest.__version__
    assert (rf.major, rf.minor, rf.patch) != (bigger.major, bigger.minor, bigger.patch)
    assert (rf.major, rf.patch) == (bigger.major, bigger.patch) and rf.minor != bigger.minor
    for changed in (ThreeComponents, OtherModel):
        pca, other = PCAOp.__version__, changed.__version__
        assert pca.major != other.major and (pca.minor, pca.patch) == (other.minor, other.patch)
    assert BiggerForest(MLMode.FIT).model.n_estimators == 10
    # the same change with the same value gives the same version
    class SameForest(IrisRF):
        model_parameters = VersionedFieldDict(VersionType.MINOR, {"max_depth": 2, "n_estimators": 5})

    assert SameForest.__version__ == IrisRF.__version__


class ScaledLogisticOp(SKSupervisedOp):
    model_class = VersionedField(SKPipeline, VersionType.MAJOR)
    model_parameters = VersionedFieldDict(
        VersionType.MAJOR,
        {"steps": [("scale", StandardScaler()), ("logistic", LogisticRegression(max_iter=200))]},
    )


class BoostingOp(SKSupervisedOp):
    model_class = GradientBoostingClassifier
    model_parameters = VersionedFieldDict(VersionType.MAJOR, {"n_estimators": 10, "random_state": 0})


@pytest.mark.parametrize(
    ("op_class", "unsupervised"),
    [(LogisticOp, False), (IrisRF, False), (BoostingOp, False), (ScaledLogisticOp, False), (PCAOp, True)],
)
def test_serialize_then_load_gives_the_same_predictions_and_version(iris, op_class, unsupervised):
    x, y = iris
    source = trained(op_class, *((x,) if unsupervised else (x, y)))
    copy_op = loaded(op_class, source)
    assert copy_op.op_version == source.op_version
    assert copy_op.op_version.creation_time == source.op_version.creation_time
    np.testing.assert_array_equal(copy_op.execute(x), source.predict(x))
    assert type(copy_op.model) is type(source.model)
    assert copy_op.model is not source.model


def test_an_untrained_op_version_is_the_same_in_another_process():
    def hashes(version):
        return f"{version.major} {version.minor} {version.patch}"

    code = (
        "from chariots import MLMode; from tests.ml.iris_ops import PCAOp, IrisRF\n"
        "for op in (PCAOp(MLMode.PREDICT), IrisRF(MLMode.FIT)):\n"
        "    print(op.op_version.major, op.op_version.minor, op.op_version.patch)"
    )
    output = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=REPO_ROOT
    ).stdout
    expected = [hashes(PCAOp(MLMode.PREDICT).op_version), hashes(IrisRF(MLMode.FIT).op_version)]
    assert output.splitlines() == expected


def test_predicting_before_fitting_names_the_op(iris):
    with pytest.raises(MLOpError) as error:
        IrisPCA(MLMode.PREDICT).execute(iris[0])
    assert str(error.value).startswith("op 'irispca' cannot predict: its model was never trained or loaded.")


@pytest.mark.parametrize(
    ("op_class", "mode", "count", "message"),
    [
        (
            LogisticOp,
            MLMode.FIT,
            1,
            "op 'logisticop' in mode 'fit' takes 2 inputs (X, y) but its node gave it 1",
        ),
        (
            LogisticOp,
            MLMode.FIT_PREDICT,
            3,
            "op 'logisticop' in mode 'fit_predict' takes 2 inputs (X, y) but its node gave it 3",
        ),
        (PCAOp, MLMode.FIT, 2, "op 'pcaop' in mode 'fit' takes 1 input (X) but its node gave it 2"),
        (PCAOp, MLMode.PREDICT, 2, "op 'pcaop' in mode 'predict' takes 1 input (X) but its node gave it 2"),
    ],
)
def test_a_wrong_number_of_inputs_names_the_op(iris, op_class, mode, count, message):
    op = op_class(mode)
    if mode is MLMode.PREDICT:
        op = loaded(op_class, trained(op_class, iris[0]))
    with pytest.raises(PipelineError) as error:
        op.execute(*[iris[0]] * count)
    assert str(error.value) == message + ": set the input_nodes of its Node accordingly"


def test_a_model_class_without_the_predict_function_fails_at_construction():
    class ProbaPCA(PCAOp):
        predict_function = "predict_proba"

    with pytest.raises(MLOpError) as error:
        ProbaPCA(MLMode.FIT)
    assert str(error.value) == (
        "op 'probapca': the model class sklearn.decomposition._pca.PCA has no 'predict_proba' method to "
        "predict with; set predict_function on ProbaPCA to one it has: 'transform', 'score_samples'"
    )


def test_a_predict_function_the_estimator_instance_lacks_is_caught_too():
    class NoProbaSVC(SKSupervisedOp):  # SVC has predict_proba only with probability=True
        model_class = SVC
        model_parameters = VersionedFieldDict(VersionType.MAJOR, {"probability": False})
        predict_function = "predict_proba"

    with pytest.raises(MLOpError) as error:
        NoProbaSVC(MLMode.PREDICT)
    assert str(error.value) == (
        "op 'noprobasvc': the model class sklearn.svm._classes.SVC has no 'predict_proba' method to "
        "predict with; set predict_function on NoProbaSVC to one it has: 'predict', 'decision_function'"
    )


def test_estimators_given_as_parameters_are_not_shared(iris):
    x, y = iris
    first, second = trained(ScaledLogisticOp, x, y), ScaledLogisticOp(MLMode.FIT)
    first_scaler = first.model.named_steps["scale"]
    assert first_scaler is not second.model.named_steps["scale"]
    assert first_scaler is not ScaledLogisticOp.model_parameters["steps"][0][1]
    assert not hasattr(ScaledLogisticOp.model_parameters["steps"][0][1], "mean_")


def test_an_op_without_model_class_fails_at_construction():
    class Empty(SKSupervisedOp):
        pass

    with pytest.raises(MLOpError) as error:
        Empty(MLMode.FIT)
    assert str(error.value) == (
        "op 'empty' has no model_class: set it on Empty to a scikit-learn estimator class, "
        "e.g. model_class = LogisticRegression"
    )
