"""KerasOp on Keras 3 (jax backend): the docs' example, versions, serialization, bad input."""
from __future__ import annotations

import importlib.util
import os

import numpy as np
import pytest

if importlib.util.find_spec("keras") is None and os.environ.get("CI") != "true":
    pytest.skip("keras is not installed: pip install chariots[keras]", allow_module_level=True)

from chariots import MLMode  # noqa: E402
from chariots.errors import MLOpError, PipelineError  # noqa: E402
from chariots.keras import KerasOp  # noqa: E402
from tests.ml.iris_ops import Categorize  # noqa: E402
from tests.ml.keras_ops import KerasLinear, KerasMajorLinear, keras_pipelines  # noqa: E402

pytestmark = [
    # the docs' model passes input_shape to its first layer, which Keras 3 accepts with a warning
    pytest.mark.filterwarnings("ignore:Do not pass an `input_shape`:UserWarning"),
    # Keras' own jax variables warn under numpy 2 (nothing Chariots can change)
    pytest.mark.filterwarnings("ignore:__array__ implementation doesn't accept a copy keyword"),
]


@pytest.fixture(scope="module")
def iris_keras():
    from sklearn import datasets

    data = datasets.load_iris()
    return data.data.astype("float32"), Categorize().execute(data.target)


@pytest.fixture(scope="module")
def trained_linear(iris_keras):
    op = KerasLinear(MLMode.FIT, verbose=0)
    op.execute(*iris_keras)
    return op


def loaded(op_class, source):
    op = op_class(MLMode.PREDICT, verbose=0)
    op.load(source.serialize())
    return op


def test_the_short_alias_is_the_ml_subpackage():
    import chariots.keras
    import chariots.ml.keras

    assert chariots.keras.KerasOp is chariots.ml.keras.KerasOp is KerasOp
    assert chariots.keras.__all__ == ["KerasOp"]


def test_docs_example_trains_saves_loads_and_predicts(train_save_load, runner):
    train, pred = keras_pipelines()
    pred = train_save_load(train, pred)
    prediction = runner.run(pred, np.array([[1, 2, 3, 4]]))
    assert isinstance(prediction, np.ndarray)
    assert prediction.shape == (1, 3) and prediction.dtype == np.float32
    np.testing.assert_allclose(prediction.sum(), 1, rtol=1e-5)
    # a JSON body gives nested lists: they work too
    np.testing.assert_allclose(runner.run(pred, [[1, 2, 3, 4]]), prediction)
    trained_version = train.node_for_name["keraslinear"].node_version
    assert pred.node_for_name["keraslinear"].node_version == trained_version


def test_fit_params_reach_keras_fit(trained_linear):
    # 3 epochs of ceil(150 / 32) = 5 batches
    assert int(trained_linear.model.optimizer.iterations) == 15


def test_serialize_then_load_gives_the_same_predictions_and_version(trained_linear, iris_keras):
    data = trained_linear.serialize()
    assert b"PK\x03\x04" in data  # the model is a .keras (zip) archive inside the op's bytes
    copy_op = loaded(KerasLinear, trained_linear)
    assert copy_op.op_version == trained_linear.op_version
    assert copy_op.op_version.creation_time == trained_linear.op_version.creation_time
    x = iris_keras[0]
    np.testing.assert_array_equal(copy_op.execute(x), trained_linear.predict(x))
    assert copy_op.model is not trained_linear.model


def test_a_loaded_model_keeps_training_from_its_weights(trained_linear, iris_keras):
    op = KerasLinear(MLMode.FIT, verbose=0)
    op.load(trained_linear.serialize())
    before = op.op_version
    op.execute(*iris_keras)
    assert int(op.model.optimizer.iterations) == 30
    assert op.op_version.major == before.major and op.op_version.patch != before.patch


def test_retraining_a_major_keras_op_changes_its_major(iris_keras):
    x, y = iris_keras[0][:20], iris_keras[1][:20]
    op = KerasMajorLinear(MLMode.FIT, verbose=0)
    versions = [op.op_version]
    op.execute(x, y)
    versions.append(op.op_version)
    op.execute(x, y)
    versions.append(op.op_version)
    for before, after in zip(versions, versions[1:]):
        assert before.major != after.major
        assert (before.minor, before.patch) == (after.minor, after.patch)


def test_fit_predict_returns_predictions_on_the_inputs(iris_keras):
    x, y = iris_keras[0][:10], iris_keras[1][:10]
    assert KerasLinear(MLMode.FIT_PREDICT, verbose=0).execute(x, y).shape == (10, 3)


def test_predicting_before_training_names_the_op():
    with pytest.raises(MLOpError, match="^op 'keraslinear' cannot predict: its model was never trained"):
        KerasLinear(MLMode.PREDICT, verbose=0).execute(np.zeros((1, 4)))


def test_a_wrong_number_of_inputs_names_the_op(iris_keras):
    with pytest.raises(PipelineError) as error:
        KerasLinear(MLMode.FIT, verbose=0).execute(iris_keras[0])
    assert str(error.value) == (
        "op 'keraslinear' in mode 'fit' takes 2 inputs (input_data_sets, output_datasets) but its "
        "node gave it 1: set the input_nodes of its Node accordingly"
    )


def test_keras_op_without_init_model_cannot_be_created():
    with pytest.raises(TypeError, match="abstract"):
        KerasOp(MLMode.FIT)
