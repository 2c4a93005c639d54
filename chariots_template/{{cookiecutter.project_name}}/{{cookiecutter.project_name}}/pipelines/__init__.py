{%- if cookiecutter.use_iris_example == "y" -%}
"""The pipelines: ``train_iris`` trains the models, ``pred_iris`` predicts with them.

After training, save ``train_iris`` and reload ``pred_iris`` so it uses the trained models.
``train_pca`` retrains the PCA alone and ``train_rf`` the forest alone, on the PCA last saved
(load ``train_rf`` before calling it): a new PCA is a new major version, so ``pred_iris``
refuses to load it until the forest was retrained on it.
"""
from chariots.ml import MLMode
from chariots.pipelines import Pipeline
from chariots.pipelines.nodes import Node

from {{ cookiecutter.project_name }}.ops.data_ops import DownloadIris
from {{ cookiecutter.project_name }}.ops.feature_ops import FromArray, XSplit, XYSplit
from {{ cookiecutter.project_name }}.ops.model_ops import IrisPCA, IrisRF

__all__ = ["pipelines", "pred_iris", "train_iris", "train_pca", "train_rf"]

train_iris = Pipeline(
    [
        Node(DownloadIris(), output_nodes="iris_df"),
        Node(XYSplit(), input_nodes=["iris_df"], output_nodes=["raw_X", "y"]),
        Node(IrisPCA(MLMode.FIT_PREDICT), input_nodes=["raw_X"], output_nodes="pca_X"),
        Node(IrisRF(MLMode.FIT), input_nodes=["pca_X", "y"]),
    ],
    "train_iris",
)

pred_iris = Pipeline(
    [
        Node(IrisPCA(MLMode.PREDICT), input_nodes=["__pipeline_input__"], output_nodes="x_pca"),
        Node(IrisRF(MLMode.PREDICT), input_nodes=["x_pca"], output_nodes="pred"),
        Node(FromArray(), input_nodes=["pred"], output_nodes="__pipeline_output__"),
    ],
    "pred_iris",
)

train_pca = Pipeline(
    [
        Node(DownloadIris(), output_nodes="iris_df"),
        Node(XSplit(), input_nodes=["iris_df"], output_nodes="raw_X"),
        Node(IrisPCA(MLMode.FIT), input_nodes=["raw_X"]),
    ],
    "train_pca",
)

train_rf = Pipeline(
    [
        Node(DownloadIris(), output_nodes="iris_df"),
        Node(XYSplit(), input_nodes=["iris_df"], output_nodes=["raw_X", "y"]),
        Node(IrisPCA(MLMode.PREDICT), input_nodes=["raw_X"], output_nodes="pca_X"),
        Node(IrisRF(MLMode.FIT), input_nodes=["pca_X", "y"]),
    ],
    "train_rf",
)

#: the pipelines the app serves
pipelines = [train_iris, pred_iris, train_pca, train_rf]
{%- else -%}
"""The pipelines the app serves.

Build them from the ops of :mod:`{{ cookiecutter.project_name }}.ops` and add them to ``pipelines``::

    from chariots.pipelines import Pipeline
    from chariots.pipelines.nodes import Node

    my_pipeline = Pipeline([Node(MyOp(), input_nodes=["__pipeline_input__"],
                                 output_nodes="__pipeline_output__")], "my_pipeline")
    pipelines = [my_pipeline]
"""
from chariots.pipelines import Pipeline

__all__ = ["pipelines"]

#: the pipelines the app serves
pipelines: list[Pipeline] = []
{%- endif %}
