"""Creates the local app folders and drops the iris example when it was not asked for."""
import os
import shutil

PROJECT = {{ cookiecutter.project_name | tojson }}
USE_IRIS_EXAMPLE = {{ cookiecutter.use_iris_example | tojson }} == "y"

IRIS_FILES = [
    os.path.join(PROJECT, "ops", "data_ops", "download_iris.py"),
    os.path.join(PROJECT, "ops", "feature_ops", "x_y_split.py"),
    os.path.join(PROJECT, "ops", "feature_ops", "from_array.py"),
    os.path.join(PROJECT, "ops", "model_ops", "iris_pca.py"),
    os.path.join(PROJECT, "ops", "model_ops", "iris_rf.py"),
]

# where the app keeps its op store (models, versions) and data by default
for folder in ("data", "ops"):
    path = os.path.join(f"{PROJECT}_local", folder)
    os.makedirs(path, exist_ok=True)
    open(os.path.join(path, ".gitkeep"), "a").close()

if not USE_IRIS_EXAMPLE:
    for path in IRIS_FILES:
        os.remove(path)

# an installed template holds the __pycache__ folders pip compiled for it: they are not the project's
for root, folders, _ in os.walk("."):
    for folder in list(folders):
        if folder == "__pycache__":
            shutil.rmtree(os.path.join(root, folder))
            folders.remove(folder)
