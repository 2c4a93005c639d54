"""Ops loading the project's data."""
{%- if cookiecutter.use_iris_example == "y" %}
from {{ cookiecutter.project_name }}.ops.data_ops.download_iris import DownloadIris

__all__ = ["DownloadIris"]
{%- else %}

__all__: list = []
{%- endif %}
