"""The serializers: round trips, and the CSV serializer's type check."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import chariots.serializers
from chariots.ml.serializers import BaseSerializer, CSVSerializer, DillSerializer, JSONSerializer


def test_the_short_alias_is_the_ml_subpackage():
    assert chariots.serializers.CSVSerializer is CSVSerializer
    assert sorted(chariots.serializers.__all__) == [
        "BaseSerializer",
        "CSVSerializer",
        "DillSerializer",
        "JSONSerializer",
        "SkopsSerializer",
    ]


def test_base_serializer_is_abstract():
    with pytest.raises(TypeError, match="abstract"):
        BaseSerializer()


def test_dill_round_trips_functions_and_arrays():
    serializer = DillSerializer()
    offset = 3
    function = lambda value: value + offset  # noqa: E731 (dill handles closures and lambdas)
    array = np.arange(6).reshape(2, 3)
    data = serializer.serialize_object({"function": function, "array": array})
    assert isinstance(data, bytes)
    restored = serializer.deserialize_object(data)
    assert restored["function"](1) == 4
    np.testing.assert_array_equal(restored["array"], array)


def test_json_round_trips_and_is_plain_utf8_json():
    serializer = JSONSerializer()
    value = {"name": "iris", "classes": [0, 1, 2], "ratio": 0.5, "ok": True, "none": None, "é": "ü"}
    data = serializer.serialize_object(value)
    assert data.decode("utf-8").startswith('{"name": "iris"')
    assert serializer.deserialize_object(data) == value


def test_json_refuses_what_json_cannot_carry():
    with pytest.raises(TypeError, match="not JSON serializable"):
        JSONSerializer().serialize_object({"array": np.arange(3)})


def test_csv_round_trips_a_data_frame_with_its_index():
    frame = pd.DataFrame(
        {"sepal": [5.1, 4.9], "species": ["setosa", "virginica"], "count": [1, 2]},
        index=pd.Index([10, 20], name="row"),
    )
    serializer = CSVSerializer()
    data = serializer.serialize_object(frame)
    assert data.decode("utf-8").splitlines()[0] == "row,sepal,species,count"
    pd.testing.assert_frame_equal(serializer.deserialize_object(data), frame)


def test_csv_round_trips_a_default_index():
    frame = pd.DataFrame({"a": [1, 2, 3]})
    restored = CSVSerializer().deserialize_object(CSVSerializer().serialize_object(frame))
    pd.testing.assert_frame_equal(restored, frame)


@pytest.mark.parametrize(
    ("target", "type_name"),
    [
        ([[1, 2]], "builtins.list"),
        (np.zeros((2, 2)), "numpy.ndarray"),
        (pd.Series([1, 2]), f"{pd.Series.__module__}.Series"),
    ],
)
def test_csv_refuses_anything_but_a_data_frame_naming_the_type(target, type_name):
    with pytest.raises(TypeError) as error:
        CSVSerializer().serialize_object(target)
    assert str(error.value) == (
        f"CSVSerializer can only serialize a pandas DataFrame, got {type_name}: convert it with "
        "pandas.DataFrame(...) or use another serializer (DillSerializer, JSONSerializer)"
    )
