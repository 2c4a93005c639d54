"""BaseMLOp: modes, versions, serialization and errors, with a minimal custom model."""
from __future__ import annotations

import copy
import json

import pytest

from chariots import MLMode, Pipeline
from chariots.errors import MLOpError, PipelineError
from chariots.ml import BaseMLOp
from chariots.ml.serializers import DillSerializer, JSONSerializer
from chariots.nodes import Node
from chariots.pipelines.ops import BaseOp, LoadableOp
from chariots.versioning import Version, VersionedField, VersionType


class MeanModel(BaseMLOp):
    """Learns the mean of its training data; predicts ``value - mean``."""

    serializer_cls = JSONSerializer
    offset = VersionedField(0, VersionType.MINOR)

    def _init_model(self):
        return {"mean": None}

    def fit(self, values):
        self._model = {"mean": sum(values) / len(values) + self.offset}

    def predict(self, values):
        return [value - self._model["mean"] for value in values]


class IdentityOp(BaseOp):
    def execute(self, value):
        return value


class MajorMeanModel(MeanModel):
    training_update_version = VersionType.MAJOR


class StringPatchModel(MeanModel):
    training_update_version = "patch"


def test_ml_mode_values_are_the_documented_ones():
    assert [(mode.name, mode.value) for mode in MLMode] == [
        ("FIT", "fit"),
        ("PREDICT", "predict"),
        ("FIT_PREDICT", "fit_predict"),
    ]
    assert MLMode("fit_predict") is MLMode.FIT_PREDICT


def test_base_ml_op_is_a_loadable_op_with_the_documented_defaults():
    assert issubclass(BaseMLOp, LoadableOp)
    assert BaseMLOp.training_update_version == VersionType.PATCH
    assert BaseMLOp.training_update_version.value == "patch"
    assert BaseMLOp.serializer_cls is DillSerializer


def test_fit_fit_predict_and_predict_modes():
    trainer = MeanModel(MLMode.FIT)
    assert trainer.mode is MLMode.FIT
    assert trainer.execute([1, 2, 3]) is None
    assert trainer.model == {"mean": 2}

    both = MeanModel(MLMode.FIT_PREDICT)
    assert both.execute([1, 2, 3]) == [-1, 0, 1]

    predictor = MeanModel(MLMode.PREDICT)
    predictor.load(trainer.serialize())
    assert predictor.execute([10]) == [8]


def test_the_mode_can_be_given_by_value_and_is_checked():
    assert MeanModel("predict").mode is MLMode.PREDICT
    with pytest.raises(ValueError, match="'train' is not a valid MLMode"):
        MeanModel("train")


def test_allow_version_change_only_when_the_op_trains():
    assert MeanModel(MLMode.FIT).allow_version_change is True
    assert MeanModel(MLMode.FIT_PREDICT).allow_version_change is True
    assert MeanModel(MLMode.PREDICT).allow_version_change is False


def test_an_untrained_op_has_the_class_version_plus_an_empty_one():
    op = MeanModel(MLMode.PREDICT)
    assert op.last_training_time is None
    assert op.op_version == MeanModel.__version__ + Version()
    assert op.op_version == MeanModel(MLMode.FIT).op_version
    assert op.op_version.creation_time == 0.0


@pytest.mark.parametrize(
    ("op_class", "changed"),
    [(MeanModel, "patch"), (StringPatchModel, "patch"), (MajorMeanModel, "major")],
)
def test_each_training_changes_only_the_training_update_version(op_class, changed):
    op = op_class(MLMode.FIT)
    versions = [op.op_version]
    for _ in range(3):
        op.execute([1, 2, 3])
        versions.append(op.op_version)
    for before, after in zip(versions, versions[1:]):
        for sub_version in ("major", "minor", "patch"):
            same = getattr(before, sub_version) == getattr(after, sub_version)
            assert same is (sub_version != changed), sub_version
    assert versions[-1].creation_time == op.last_training_time
    assert len(set(versions)) == 4


def test_the_training_time_goes_into_the_version():
    op = MeanModel(MLMode.FIT)
    op.execute([1.0])
    # the training time, and the training's own random id: two trainings never share a version
    stamp = f"{op.last_training_time!r}:{op._training_id}"
    trained = Version().update(VersionType.PATCH, stamp.encode())
    expected = MeanModel.__version__ + trained
    assert op.op_version == expected
    assert op.op_version.creation_time == op.last_training_time
    assert len(op._training_id) == 16


def test_a_bad_training_update_version_fails_when_the_class_is_created():
    with pytest.raises(ValueError, match="'often' is not a valid VersionType"):

        class Bad(MeanModel):
            training_update_version = "often"


def test_serialize_keeps_model_training_time_and_chariots_version():
    from chariots import __version__

    op = MeanModel(MLMode.FIT)
    op.execute([2, 4])
    data = op.serialize()
    assert b'{"mean": 3.0}' in data  # the model is in the serializer's format
    assert json.dumps(__version__).encode() in data

    loaded = MeanModel(MLMode.PREDICT)
    loaded.load(data)
    assert loaded.model == {"mean": 3.0}
    assert loaded.last_training_time == op.last_training_time
    assert loaded.op_version == op.op_version
    assert loaded.op_version.creation_time == op.op_version.creation_time
    assert str(loaded.op_version) == str(op.op_version)


def test_load_on_a_copy_leaves_the_original_untouched():
    trained = MeanModel(MLMode.FIT)
    trained.execute([5])
    original = MeanModel(MLMode.PREDICT)
    version_before = original.op_version
    clone = copy.copy(original)
    clone.load(trained.serialize())
    assert clone.model == {"mean": 5.0}
    assert original.model == {"mean": None}
    assert original.last_training_time is None
    assert original.op_version == version_before != clone.op_version


def test_loading_bytes_that_are_not_a_saved_ml_op_fails_clearly():
    with pytest.raises(MLOpError) as error:
        MeanModel(MLMode.PREDICT).load(b'{"mean": 3}')
    assert str(error.value) == (
        "op 'meanmodel' cannot load these bytes: they were not made by MeanModel.serialize() "
        "(no Chariots ML op header)"
    )


def test_a_model_the_serializer_cannot_read_says_how_it_was_saved():
    class DillMeanModel(MeanModel):
        serializer_cls = DillSerializer

    trained = MeanModel(MLMode.FIT)
    trained.execute([1])
    with pytest.raises(Exception) as error:
        DillMeanModel(MLMode.PREDICT).load(trained.serialize())
    from chariots import __version__

    assert error.value.__notes__ == [
        "while loading the model of op 'dillmeanmodel' with DillSerializer; it was saved with "
        f"chariots.ml.serializers._json_serializer.JSONSerializer by Chariots {__version__}"
    ]


def test_predicting_before_training_names_the_op():
    with pytest.raises(MLOpError) as error:
        MeanModel(MLMode.PREDICT).execute([1])
    assert str(error.value) == (
        "op 'meanmodel' cannot predict: its model was never trained or loaded. Train it in a "
        "pipeline where it runs in MLMode.FIT or MLMode.FIT_PREDICT, save that pipeline, then "
        "load this one from the op store"
    )
    assert isinstance(error.value, ValueError)


def test_an_untrained_saved_op_is_still_untrained_once_loaded():
    saved = MeanModel(MLMode.FIT).serialize()
    op = MeanModel(MLMode.PREDICT)
    op.load(saved)
    with pytest.raises(MLOpError, match="never trained or loaded"):
        op.execute([1])


@pytest.mark.parametrize(
    ("mode", "inputs", "message"),
    [
        (MLMode.FIT, (), "op 'meanmodel' in mode 'fit' takes 1 input (values) but its node gave it 0"),
        (
            MLMode.FIT_PREDICT,
            ([1], [2]),
            "op 'meanmodel' in mode 'fit_predict' takes 1 input (values) but its node gave it 2",
        ),
    ],
)
def test_a_wrong_number_of_inputs_names_the_op_and_the_expected_inputs(mode, inputs, message):
    with pytest.raises(PipelineError) as error:
        MeanModel(mode).execute(*inputs)
    assert str(error.value) == message + ": set the input_nodes of its Node accordingly"


def test_a_wrong_number_of_inputs_in_a_pipeline_names_the_op_and_the_node(runner):
    trained = MeanModel(MLMode.FIT)
    trained.execute([1])
    op = MeanModel(MLMode.PREDICT)
    op.load(trained.serialize())
    pipeline = Pipeline(
        [
            Node(IdentityOp(), input_nodes=["__pipeline_input__"], output_nodes="copy"),
            Node(op, input_nodes=["__pipeline_input__", "copy"], output_nodes="__pipeline_output__"),
        ],
        "two_inputs",
    )
    with pytest.raises(PipelineError) as error:
        runner.run(pipeline, [1])
    assert str(error.value) == (
        "op 'meanmodel' in mode 'predict' takes 1 input (values) but its node gave it 2: "
        "set the input_nodes of its Node accordingly"
    )
    assert error.value.__notes__ == ["while running node 'meanmodel' of pipeline 'two_inputs'"]


def test_an_op_missing_an_abstract_method_cannot_be_created():
    class NoPredict(BaseMLOp):
        def _init_model(self):
            return None

        def fit(self, x):
            pass

    with pytest.raises(TypeError, match="abstract"):
        NoPredict(MLMode.FIT)


def test_ml_ops_train_save_and_load_in_pipelines(store, runner):
    train = Pipeline([Node(MeanModel(MLMode.FIT), input_nodes=["__pipeline_input__"])], "train")
    pred = Pipeline(
        [
            Node(
                MeanModel(MLMode.PREDICT),
                input_nodes=["__pipeline_input__"],
                output_nodes="__pipeline_output__",
            )
        ],
        "pred",
    )
    train.register(store)
    pred.register(store)
    runner.run(train, [1, 2, 3, 6])
    train.save(store)
    pred.load(store)
    assert runner.run(pred, [3, 4]) == [0, 1]
    trained_version = train.node_for_name["meanmodel"].node_version
    assert pred.node_for_name["meanmodel"].node_version == trained_version
