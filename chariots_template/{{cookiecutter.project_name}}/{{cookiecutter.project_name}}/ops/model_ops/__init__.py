"""Machine-learning ops: they are trained, saved in the op store and versioned."""
{%- if cookiecutter.use_iris_example == "y" %}
from {{ cookiecutter.project_name }}.ops.model_ops.iris_pca import IrisPCA
from {{ cookiecutter.project_name }}.ops.model_ops.iris_rf import IrisRF

__all__ = ["IrisPCA", "IrisRF"]
{%- else %}

__all__: list = []
{%- endif %}
