"""The project's ops: ``data_ops`` load data, ``feature_ops`` prepare it, ``model_ops`` learn from it."""
