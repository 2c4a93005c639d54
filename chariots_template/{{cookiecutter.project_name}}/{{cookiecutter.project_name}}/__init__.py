"""{{ cookiecutter.description }}"""

__author__ = {{ cookiecutter.author | tojson }}
__email__ = {{ cookiecutter.email | tojson }}
__version__ = {{ cookiecutter.version | tojson }}
