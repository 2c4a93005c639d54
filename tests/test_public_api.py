"""Every class path printed in the reference docs resolves, and the documented signatures hold."""
import importlib
import inspect

import pytest

DOCUMENTED_PATHS = [
    "chariots.config.ChariotsConfig",
    "chariots.config.OpStoreConfig",
    "chariots.config.PipelinesConfig",
    "chariots.config.WorkersConfig",
    "chariots.errors.BackendError",
    "chariots.errors.VersionError",
    "chariots.ml.BaseMLOp",
    "chariots.ml.MLMode",
    "chariots.ml._base_ml_op.BaseMLOp",
    "chariots.ml._ml_mode.MLMode",
    "chariots.ml.keras.KerasOp",
    "chariots.ml.serializers.BaseSerializer",
    "chariots.ml.serializers.CSVSerializer",
    "chariots.ml.serializers.DillSerializer",
    "chariots.ml.serializers.JSONSerializer",
    "chariots.ml.serializers._base_serializer.BaseSerializer",
    "chariots.ml.serializers._dill_serializer.DillSerializer",
    "chariots.ml.sklearn.BaseSKOp",
    "chariots.ml.sklearn.SKSupervisedOp",
    "chariots.ml.sklearn.SKUnsupervisedOp",
    "chariots.ml.sklearn._base_sk_op.BaseSKOp",
    "chariots.op_store.OpStoreClient",
    "chariots.op_store.OpStoreServer",
    "chariots.op_store._op_store.OpStoreServer",
    "chariots.op_store._op_store_client.BaseOpStoreClient",
    "chariots.op_store._op_store_client.OpStoreClient",
    "chariots.op_store.savers.BaseSaver",
    "chariots.op_store.savers.FileSaver",
    "chariots.op_store.savers.GoogleStorageSaver",
    "chariots.op_store.savers._base_saver.BaseSaver",
    "chariots.pipelines.Pipeline",
    "chariots.pipelines.PipelinesClient",
    "chariots.pipelines.PipelinesServer",
    "chariots.pipelines._pipeline.Pipeline",
    "chariots.pipelines.callbacks.OpCallBack",
    "chariots.pipelines.callbacks.PipelineCallback",
    "chariots.pipelines.callbacks._op_callback.OpCallBack",
    "chariots.pipelines.callbacks._pipeline_callback.PipelineCallback",
    "chariots.pipelines.nodes.BaseNode",
    "chariots.pipelines.nodes.Node",
    "chariots.pipelines.nodes.ReservedNodes",
    "chariots.pipelines.nodes._base_nodes.BaseNode",
    "chariots.pipelines.nodes._base_nodes.NodeReference",
    "chariots.pipelines.ops.BaseOp",
    "chariots.pipelines.ops.LoadableOp",
    "chariots.pipelines.ops._base_op.BaseOp",
    "chariots.pipelines.ops._loadable_op.LoadableOp",
    "chariots.pipelines.pipelines_client.AbstractPipelinesClient",
    "chariots.pipelines.pipelines_client.PipelinesClient",
    "chariots.pipelines.pipelines_server.PipelineResponse",
    "chariots.pipelines.pipelines_server.PipelinesServer",
    "chariots.pipelines.runners.BaseRunner",
    "chariots.pipelines.runners.SequentialRunner",
    "chariots.pipelines.runners._base_runner.BaseRunner",
    "chariots.testing.TestOpStoreClient",
    "chariots.testing.TestPipelinesClient",
    "chariots.versioning.Version",
    "chariots.versioning.VersionType",
    "chariots.versioning.VersionableMeta",
    "chariots.versioning.VersionedField",
    "chariots.versioning.VersionedFieldDict",
    "chariots.versioning._version.Version",
    "chariots.versioning._version_type.VersionType",
    "chariots.versioning._versioned_field_dict.VersionedFieldDict",
    "chariots.workers.BaseWorkerPool",
    "chariots.workers.JobStatus",
    "chariots.workers.RQWorkerPool",
    "chariots.workers._base_worker_pool.BaseWorkerPool",
]


@pytest.mark.parametrize("path", DOCUMENTED_PATHS)
def test_documented_path_resolves(path):
    module_name, _, name = path.rpartition(".")
    assert isinstance(getattr(importlib.import_module(module_name), name), type)


SIGNATURES = {
    "chariots.pipelines.Pipeline": ["pipeline_nodes", "name", "pipeline_callbacks", "use_worker"],
    "chariots.pipelines.nodes.Node": ["op", "input_nodes", "output_nodes"],
    "chariots.pipelines.nodes.BaseNode": ["input_nodes", "output_nodes"],
    "chariots.pipelines.ops.BaseOp": ["op_callbacks"],
    "chariots.pipelines.PipelinesClient": ["backend_url"],
    "chariots.op_store.OpStoreServer": ["saver", "db_url"],
    "chariots.op_store.OpStoreClient": ["url"],
    "chariots.op_store.savers.FileSaver": ["root_path"],
    "chariots.op_store.savers.GoogleStorageSaver": ["root_path", "bucket_name", "client_kwargs"],
    "chariots.workers.RQWorkerPool": ["redis_kwargs", "redis", "queue_kwargs"],
    "chariots.ml.BaseMLOp": ["mode", "op_callbacks"],
    "chariots.ml.keras.KerasOp": ["mode", "verbose"],
    "chariots.versioning.Version": ["major", "minor", "patch", "creation_time"],
    "chariots.versioning.VersionedField": ["value", "affected_version"],
    "chariots.config.ChariotsConfig": ["config_file", "pipelines_config", "pipelines_worker_config",
                                       "op_store_config"],
    "chariots.config.OpStoreConfig": ["server_host", "server_port", "saver_type", "saver_kwargs",
                                      "op_store_db_url"],
    "chariots.config.PipelinesConfig": ["runner", "server_host", "server_port", "pipelines", "pipeline_callbacks",
                                        "import_name"],
    "chariots.config.WorkersConfig": ["use_for_all", "worker_type", "worker_pool_kwargs"],
    "chariots.testing.TestOpStoreClient": ["path", "saver"],
    "chariots.testing.TestPipelinesClient": ["app"],
}


@pytest.mark.parametrize("path, parameters", SIGNATURES.items())
def test_documented_constructor_parameters_come_first_in_order(path, parameters):
    module_name, _, name = path.rpartition(".")
    cls = getattr(importlib.import_module(module_name), name)
    names = [parameter for parameter in inspect.signature(cls.__init__).parameters if parameter != "self"]
    assert names[: len(parameters)] == parameters


def test_pipelines_server_signature():
    from chariots.pipelines import PipelinesServer

    parameters = inspect.signature(PipelinesServer.__init__).parameters
    assert list(parameters)[1:3] == ["app_pipelines", "args"]
    for keyword in ("op_store_client", "runner", "default_pipeline_callbacks", "worker_pool", "use_workers"):
        assert parameters[keyword].kind is inspect.Parameter.KEYWORD_ONLY
        assert parameters[keyword].default is None
