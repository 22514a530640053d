"""The house keeps its shape: no module of gdfast/ or kernels/ imports a
private name (one starting with an underscore) from another module, the
package shows its library modules at the top and its tools in subpackages,
and no module is shadowed by a function of the same name."""
import ast
import importlib
import os
import pkgutil
from pathlib import Path

import pytest

import gdfast

ROOT = Path(__file__).resolve().parents[1]


def _is_module(path, node, name):
    """``from <node's package> import name`` names a module (a private module
    is imported by its package's modules; its private names are not)."""
    base = path.parent
    for _ in range(node.level - 1):
        base = base.parent
    if node.module:
        base = base.joinpath(*node.module.split("."))
    return (base / f"{name}.py").exists() or (base / name / "__init__.py").exists()


def _private_imports(folder):
    for path in sorted((ROOT / folder).rglob("*.py")):
        tree = ast.parse(path.read_text(), str(path))
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom):
                for alias in node.names:
                    if alias.name.startswith("_") and not alias.name.startswith("__") \
                            and not (node.level and _is_module(path, node, alias.name)):
                        yield f"{path.relative_to(ROOT)}:{node.lineno}: from {'.' * node.level}" \
                              f"{node.module or ''} import {alias.name}"
            elif isinstance(node, ast.Attribute) and node.attr.startswith("_") \
                    and not node.attr.startswith("__") and isinstance(node.value, ast.Name) \
                    and node.value.id in _imported_modules(tree):
                yield f"{path.relative_to(ROOT)}:{node.lineno}: {node.value.id}.{node.attr}"


def _imported_modules(tree):
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update((a.asname or a.name).split(".")[0] for a in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level > 0:
            names.update(a.asname or a.name for a in node.names)
    return names


def test_no_private_name_is_imported_across_modules():
    found = [*_private_imports("gdfast"), *_private_imports("kernels")]
    assert not found, "private names used across modules:\n" + "\n".join(found)


def test_no_module_is_shadowed_by_a_function():
    for info in pkgutil.iter_modules(gdfast.__path__):
        if info.name == "__main__":                   # importing it runs the command
            continue
        module = importlib.import_module(f"gdfast.{info.name}")
        attr = getattr(gdfast, info.name, module)
        assert attr is module, f"gdfast.{info.name} is {attr!r}, not the module"


def test_the_top_level_holds_at_most_16_modules_and_the_tools_are_subpackages():
    top = [p.name for p in (ROOT / "gdfast").glob("*.py")]
    assert len(top) <= 16, sorted(top)
    assert (ROOT / "gdfast" / "bench" / "__init__.py").exists()
    assert (ROOT / "gdfast" / "cli" / "__init__.py").exists()


def test_all_names_what_the_package_exports():
    for name in gdfast.__all__:
        assert hasattr(gdfast, name), name


@pytest.mark.xdist_group("grouping-check")
def test_grouped_tests_carry_their_group_under_xdist(request):
    # README's test command runs -n 2 --dist loadgroup: the tests that share a
    # Dask cluster, the table of denoised photographs or the determinism
    # probes must run on one worker (tests/conftest.py). pytest 9.2 made
    # pytest-xdist drop the groups silently (pytest-xdist#1386): this fails then
    if "PYTEST_XDIST_WORKER" not in os.environ:
        pytest.skip("groups exist only under pytest-xdist (-n)")
    assert request.node.nodeid.endswith("@grouping-check"), request.node.nodeid


@pytest.mark.xdist_group("grouping-check")
def test_the_tests_of_one_compile_group_share_its_xdist_group(request):
    # the tv kernel tests of one update rule compile the same signatures: in
    # one group (COMPILE_GROUP, tests/conftest.py) on one worker they compile
    # them once; without the group two workers compiled each of them at once
    if "PYTEST_XDIST_WORKER" not in os.environ:
        pytest.skip("groups exist only under pytest-xdist (-n)")
    grouped = {}
    for item in request.session.items:
        param, prefix = getattr(item.module, "COMPILE_GROUP", (None, None))
        params = getattr(getattr(item, "callspec", None), "params", {})
        if param in params:
            group = f"{prefix}-{params[param]}"
            assert item.nodeid.endswith(f"@{group}"), item.nodeid
            grouped.setdefault(Path(item.fspath).stem, set()).add(group)
    for module in ("test_tv_tiles", "test_tv_descent"):     # one group per rule
        collected = any(Path(item.fspath).stem == module for item in request.session.items)
        assert not collected or len(grouped.get(module, ())) >= 12, grouped.get(module)
