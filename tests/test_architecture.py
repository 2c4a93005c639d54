"""Rules of the package's shape that import-linter does not check (see docs/architecture.rst).

- A private module belongs to its top-level subpackage: ``chariots.a._b`` and
  ``chariots.a.b._c`` are imported only from inside ``chariots.a``. The root package's own
  private modules (``chariots._wire``, ``chariots._http`` ...) are shared by every subpackage.
- No function is over :data:`MAX_FUNCTION_LINES` lines: a longer one is split into steps that
  read on their own. (Modules have no size limit: a module holds one concern, however long;
  splitting one by size alone would only scatter it.)

Every module of ``chariots/`` is parsed with :mod:`ast` (nothing is imported), so the rules hold
for imports done at first use inside functions, under ``TYPE_CHECKING``, and through
``importlib.import_module`` with a literal name.
"""
from __future__ import annotations

import ast
from pathlib import Path
from typing import Iterator, List, NamedTuple, Optional

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "chariots"
MAX_FUNCTION_LINES = 80
#: migrations describe a schema as data: one long function each
FUNCTION_LENGTH_EXEMPT = ("chariots/op_store/migrations/",)


class Module(NamedTuple):
    name: str  # chariots.op_store._service
    path: Path
    is_package: bool  # an __init__.py


class Import(NamedTuple):
    target: str  # the dotted name of the imported module
    line: int
    how: str  # "import", "from-import" or "import_module('...')", with ", typing only" under TYPE_CHECKING


def package_modules() -> List[Module]:
    modules = []
    for path in sorted(PACKAGE.rglob("*.py")):
        parts = list(path.relative_to(ROOT).with_suffix("").parts)
        is_package = parts[-1] == "__init__"
        if is_package:
            parts = parts[:-1]
        modules.append(Module(".".join(parts), path, is_package))
    return modules


MODULE_NAMES = {module.name for module in package_modules()}


def _absolute(module: Module, level: int, name: Optional[str]) -> str:
    """The absolute name a ``from`` import refers to (relative imports resolved)."""
    if level == 0:
        return name or ""
    package = module.name.split(".")
    if not module.is_package:
        package = package[:-1]
    base = package[: len(package) - (level - 1)]
    return ".".join(base + ([name] if name else []))


def imports_of(module: Module) -> Iterator[Import]:
    """Every chariots module ``module`` imports, wherever the import statement stands."""
    tree = ast.parse(module.path.read_text(encoding="utf-8"), filename=str(module.path))
    typing_only = _type_checking_lines(tree)
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            how = "import" + (", typing only" if node.lineno in typing_only else "")
            for alias in node.names:
                yield Import(alias.name, node.lineno, how)
        elif isinstance(node, ast.ImportFrom):
            how = "from-import" + (", typing only" if node.lineno in typing_only else "")
            source = _absolute(module, node.level, node.module)
            yield Import(source, node.lineno, how)
            for alias in node.names:  # `from chariots.a import _b` imports the module chariots.a._b
                if f"{source}.{alias.name}" in MODULE_NAMES:
                    yield Import(f"{source}.{alias.name}", node.lineno, how)
        elif isinstance(node, ast.Call) and _called_name(node.func) in ("import_module", "__import__"):
            if node.args and isinstance(node.args[0], ast.Constant) and isinstance(node.args[0].value, str):
                yield Import(node.args[0].value, node.lineno, f"import_module({node.args[0].value!r})")


def _type_checking_lines(tree: ast.Module) -> set:
    """The line numbers inside ``if TYPE_CHECKING:`` blocks."""
    lines: set = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and _called_name(node.test) == "TYPE_CHECKING":
            for statement in node.body:
                lines.update(range(statement.lineno, (statement.end_lineno or statement.lineno) + 1))
    return lines


def _called_name(func: ast.expr) -> str:
    if isinstance(func, ast.Attribute):
        return func.attr
    return func.id if isinstance(func, ast.Name) else ""


def private_owner(target: str) -> Optional[str]:
    """The top-level subpackage owning ``target`` when it is (inside) a private module of a
    subpackage; None for public modules and for the root package's private modules."""
    parts = target.split(".")
    if parts[0] != "chariots" or len(parts) < 3:
        return None
    if any(part.startswith("_") and not part.startswith("__") for part in parts[2:]):
        return ".".join(parts[:2])
    return None


def cross_package_private_imports() -> List[str]:
    violations = []
    for module in package_modules():
        for imported in imports_of(module):
            owner = private_owner(imported.target)
            if owner is None or imported.target not in MODULE_NAMES and not _inside_module(imported.target):
                continue
            if module.name == owner or module.name.startswith(owner + "."):
                continue
            where = module.path.relative_to(ROOT)
            violations.append(f"{where}:{imported.line}: {module.name} imports {imported.target} ({imported.how})")
    return sorted(set(violations))


def _inside_module(target: str) -> bool:
    """Whether ``target`` names something inside a module of the package (``chariots.a._b.name``)."""
    parts = target.split(".")
    return any(".".join(parts[:end]) in MODULE_NAMES for end in range(len(parts) - 1, 1, -1))


def test_the_rule_reads_imports_as_meant():
    """The checker itself, on names of this package: a test of the test, so it cannot pass by finding nothing."""
    assert private_owner("chariots.op_store._service") == "chariots.op_store"
    assert private_owner("chariots.ml.serializers._json_serializer") == "chariots.ml"
    assert private_owner("chariots._wire") is None
    assert private_owner("chariots.op_store.savers") is None
    assert private_owner("flask._compat") is None
    service = next(module for module in package_modules() if module.name == "chariots.op_store._service")
    found = {imported.target for imported in imports_of(service)}
    assert {"chariots.op_store._database", "chariots.op_store._repository", "chariots.errors"} <= found
    init = next(module for module in package_modules() if module.name == "chariots.pipelines.nodes")
    assert _absolute(init, 1, "_node") == "chariots.pipelines.nodes._node"
    assert _absolute(service, 2, "errors") == "chariots.errors"


def test_no_module_imports_a_private_module_of_another_subpackage():
    violations = cross_package_private_imports()
    assert not violations, (
        f"{len(violations)} import(s) of a private module from outside its subpackage; import the "
        "subpackage's public name instead (or move the shared code to a public module):\n" + "\n".join(violations)
    )


def test_no_function_is_over_the_line_limit():
    too_long = []
    for module in package_modules():
        relative = str(module.path.relative_to(ROOT))
        if relative.startswith(FUNCTION_LENGTH_EXEMPT):
            continue
        tree = ast.parse(module.path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                lines = node.end_lineno - node.lineno + 1
                if lines > MAX_FUNCTION_LINES:
                    too_long.append(f"{relative}:{node.lineno} {node.name}(): {lines} lines")
    assert not too_long, f"functions over {MAX_FUNCTION_LINES} lines; split them into steps:\n" + "\n".join(too_long)
