"""Ops preparing data for the models (splits, transformations, output formatting)."""
{%- if cookiecutter.use_iris_example == "y" %}
from {{ cookiecutter.project_name }}.ops.feature_ops.from_array import FromArray
from {{ cookiecutter.project_name }}.ops.feature_ops.x_y_split import XSplit, XYSplit

__all__ = ["FromArray", "XSplit", "XYSplit"]
{%- else %}

__all__: list = []
{%- endif %}
