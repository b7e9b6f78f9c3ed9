"""The package's structure: no import cycle between its modules or between its folders, function-local imports
included (a function-local import is for a heavy optional dependency, never to hide a cycle)."""

import ast
import functools
from pathlib import Path

import pytest

import signllm_hf

PACKAGE = Path(signllm_hf.__file__).parent
# Folders in the order of the data flow, and the models at the top level: a module may import from its own folder,
# from an earlier layer, never from a later one.
LAYERS = {
    "data": 0,
    "metrics": 0,
    "conversion": 1,
    "render": 1,  # drawing poses: the pipeline writes GIFs with it
    "model": 2,  # configuration_/modeling_/tokenization_/pipeline_signllm.py, the prompt stage
    "evaluation": 3,
    "training": 4,
    "app": 5,  # cli, quickstart, the package's __init__ and its registration with transformers
}
APP_MODULES = {"signllm_hf", "signllm_hf.cli", "signllm_hf.demo", "signllm_hf.quickstart", "signllm_hf.registration"}


def module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def package_modules() -> dict[str, Path]:
    return {module_name(path): path for path in PACKAGE.rglob("*.py")}


def imports_of(name: str, path: Path, modules: dict[str, Path]) -> set[str]:
    """The package modules that ``name`` imports, wherever the import statement is (top level or in a function)."""
    package = name if path.name == "__init__.py" else name.rsplit(".", 1)[0]
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[: len(base) - node.level + 1]
                source = ".".join(base + ([node.module] if node.module else []))
            else:
                source = node.module or ""
            targets = [f"{source}.{alias.name}" for alias in node.names] + [source]
        else:
            continue
        for target in targets:
            # `from .data import dataset` names a module; `from .data import add_column` names its package.
            while target and target not in modules:
                target = target.rsplit(".", 1)[0] if "." in target else ""
            if target and target != name and target != "signllm_hf":
                found.add(target)
    return found


@functools.cache
def import_graph() -> dict[str, set[str]]:
    modules = package_modules()
    return {name: imports_of(name, path, modules) for name, path in modules.items()}


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    state: dict[str, int] = {}  # 1: on the current path, 2: done
    path: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        path.append(node)
        for nxt in sorted(graph.get(node, ())):
            if state.get(nxt) == 1:
                return path[path.index(nxt) :] + [nxt]
            if nxt not in state and (cycle := visit(nxt)):
                return cycle
        state[node] = 2
        path.pop()
        return None

    for node in sorted(graph):
        if node not in state and (cycle := visit(node)):
            return cycle
    return None


def layer(name: str) -> str:
    if name in APP_MODULES:
        return "app"
    folder = name.split(".")[1]
    return folder if folder in LAYERS else "model"


def test_the_graph_sees_function_local_imports():
    graph = import_graph()
    assert "signllm_hf.training.run" in graph["signllm_hf.cli"]  # imported inside main()
    assert "signllm_hf.data.pose_files" in graph["signllm_hf.pipeline_signllm"]  # inside _write_files
    assert "signllm_hf.data.skeleton" in graph["signllm_hf.configuration_signllm"]  # absolute, in a try block


def test_find_cycle_finds_one():
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": set()}) is None


def test_no_import_cycle_between_modules():
    cycle = find_cycle(import_graph())
    assert cycle is None, " -> ".join(cycle)


def test_no_import_cycle_between_folders():
    folders: dict[str, set[str]] = {}
    for name, targets in import_graph().items():
        folders.setdefault(layer(name), set()).update(layer(t) for t in targets if layer(t) != layer(name))
    cycle = find_cycle(folders)
    assert cycle is None, " -> ".join(cycle)


@pytest.mark.parametrize("name", sorted(import_graph()))
def test_imports_follow_the_data_flow(name):
    upward = sorted(t for t in import_graph()[name] if LAYERS[layer(t)] > LAYERS[layer(name)])
    assert not upward, f"{name} ({layer(name)}) imports later layers: {upward}"
