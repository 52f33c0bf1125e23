"""rmlint's modules import one way (docs/architecture.md): no import cycle, and each layer imports only
from itself and the layers below it. Every import is read with `ast`: at module level and inside
functions (lazy imports for start-up speed count too), `import a.b`, `from rmlint import x`, relative
imports of any depth."""

import ast
import textwrap
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parent.parent / "rmlint"

# bottom to top; a module's layer is its longest matching prefix here (a package's name covers its modules;
# `rmlint` is the package's __init__ alone)
LAYERS = [
    ("base", ["rmlint.about", "rmlint.suggest", "rmlint.cache_folder", "rmlint.data", "rmlint.finding", "rmlint.problems", "rmlint.versions", "rmlint.subject",
              "rmlint.facts", "rmlint.fact_paths", "rmlint.fact_shapes",
              "rmlint.frameworks.checkpoint.defaults", "rmlint.frameworks.trainer.defaults"]),   # fact shapes, no reader behind them
    ("sources", ["rmlint.sources", "rmlint.sources.shell", "rmlint.sources.shellexpand", "rmlint.sources.shellredirect", "rmlint.sources.shellflow", "rmlint.sources.shellarith",
                 "rmlint.sources.commands", "rmlint.sources.launcher_options", "rmlint.sources.walk", "rmlint.sources.ignore", "rmlint.sources.machine", "rmlint.config"]),
    ("frameworks", ["rmlint.frameworks", "rmlint.frameworks.openrlhf", "rmlint.frameworks.deepspeed", "rmlint.frameworks.trainer",
                    "rmlint.frameworks.checkpoint", "rmlint.frameworks.accelerate"]),
    ("reading", ["rmlint.inputs", "rmlint.launches", "rmlint.examples"]),
    ("engine", ["rmlint.expr", "rmlint.engine", "rmlint.rules", "rmlint.rule_schema", "rmlint.catalog_cache",
                "rmlint.policy", "rmlint.suppress", "rmlint.fix"]),
    ("report", ["rmlint.report", "rmlint.formats", "rmlint.rule_pages", "rmlint.fact_docs",
                "rmlint.fact_schema"]),   # the facts' declaration: fact_shapes.json and docs/facts.md come from it
    ("entry", ["rmlint", "rmlint.__main__", "rmlint.fast_cli", "rmlint.command", "rmlint.cli", "rmlint.lint", "rmlint.launcher", "rmlint.live",
               "rmlint.integrations"]),
]
# Imports that point up today, each with the change that removes it. The test fails when one is no longer
# made, so this list only shrinks.
PENDING = {}


def modules(package: Path) -> dict:
    """dotted name -> source path of every module of the package (a package is its __init__)."""
    found = {}
    for path in sorted(package.rglob("*.py")):
        parts = list(path.relative_to(package.parent).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts.pop()
        found[".".join(parts)] = path
    return found


def imports(name: str, path: Path, known: dict) -> list:
    """(imported module, line) for every import of `name` that names a module of the package."""
    tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]

    def resolve(dotted: str) -> str | None:    # a module, else the package or module that holds the name
        while dotted and dotted not in known:
            dotted = dotted.rpartition(".")[0]
        return dotted or None
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            targets = [resolve(alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parent = package.split(".")
                parent = parent[:len(parent) - (node.level - 1)]
                base = ".".join(parent + ([node.module] if node.module else []))
            targets = [resolve(f"{base}.{alias.name}") for alias in node.names]
        else:
            continue
        found += [(target, node.lineno) for target in targets if target and target != name]
    return found


def graph(package: Path) -> dict:
    known = modules(package)
    return {name: imports(name, path, known) for name, path in known.items()}


def cycles(edges: dict) -> list:
    """Every import cycle, as the modules in import order with the line of each import (one per strongly
    connected group of modules, Tarjan's algorithm, iterative)."""
    index, low, stack, on_stack, groups = {}, {}, [], set(), []
    for root in edges:
        if root in index:
            continue
        work = [(root, iter(edges[root]))]
        index[root] = low[root] = len(index)
        stack.append(root)
        on_stack.add(root)
        while work:
            node, targets = work[-1]
            for target, _ in targets:
                if target not in index:
                    index[target] = low[target] = len(index)
                    stack.append(target)
                    on_stack.add(target)
                    work.append((target, iter(edges[target])))
                    break
                if target in on_stack:
                    low[node] = min(low[node], index[target])
            else:
                work.pop()
                if work:
                    low[work[-1][0]] = min(low[work[-1][0]], low[node])
                if low[node] == index[node]:
                    group = set()
                    while True:
                        member = stack.pop()
                        on_stack.discard(member)
                        group.add(member)
                        if member == node:
                            break
                    if len(group) > 1:
                        groups.append(group)
    return [_path_through(group, edges) for group in groups]


def _path_through(group: set, edges: dict) -> list:
    """One cycle inside a strongly connected group: [(module, line of its import of the next)...]."""
    start = min(group)
    trail, seen, node = [], {}, start
    while node not in seen:
        seen[node] = len(trail)
        target, line = min((t, line) for t, line in edges[node] if t in group)
        trail.append((node, line))
        node = target
    return trail[seen[node]:]


def describe(cycle: list) -> str:
    return " -> ".join(f"{module} (line {line})" for module, line in cycle) + f" -> {cycle[0][0]}"


def layer_of(module: str) -> int:
    best = max(((len(prefix), number) for number, (_, prefixes) in enumerate(LAYERS) for prefix in prefixes
                if module == prefix or (prefix != "rmlint" and module.startswith(prefix + "."))), default=None)
    if best is None:
        raise AssertionError(f"{module} has no layer: add it to LAYERS in tests/test_layout.py "
                             "(and to docs/architecture.md)")
    return best[1]


def upward(edges: dict) -> list:
    """(module, line, imported module) for every import that points to a higher layer."""
    return [(module, line, target) for module, targets in edges.items() for target, line in targets
            if layer_of(target) > layer_of(module)]


def test_no_import_cycle():
    found = cycles(graph(PACKAGE))
    assert not found, "import cycles in rmlint/:\n" + "\n".join(describe(c) for c in found)


def test_imports_point_down_the_layers():
    edges = graph(PACKAGE)
    wrong = [f"{module}:{line} imports {target} ({LAYERS[layer_of(module)][0]} -> {LAYERS[layer_of(target)][0]})"
             for module, line, target in upward(edges) if (module, target) not in PENDING]
    assert not wrong, "imports that point up a layer:\n" + "\n".join(wrong)
    made = {(module, target) for module, _, target in upward(edges)}
    assert not set(PENDING) - made, f"no longer imported, drop from PENDING: {sorted(set(PENDING) - made)}"


def test_every_module_has_a_layer():
    assert [layer_of(module) for module in modules(PACKAGE)]


def _package(tmp_path: Path, files: dict) -> Path:
    for name, text in files.items():
        path = tmp_path / "rmlint" / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text))
    return tmp_path / "rmlint"


def test_a_cycle_through_a_lazy_import_is_named_with_its_lines(tmp_path):
    package = _package(tmp_path, {
        "__init__.py": "",
        "a.py": "from .b import thing\n",
        "b.py": "def later():\n    import rmlint.c.d\n",
        "c/__init__.py": "",
        "c/d.py": "\n\ndef f():\n    from .. import a\n",
    })
    assert [describe(c) for c in cycles(graph(package))] == [
        "rmlint.a (line 1) -> rmlint.b (line 2) -> rmlint.c.d (line 4) -> rmlint.a"]


def test_the_package_itself_is_a_node(tmp_path):
    package = _package(tmp_path, {
        "__init__.py": "def __getattr__(name):\n    from . import lint\n    return lint\n",
        "lint.py": "from .about import x\n",
        "about.py": "from rmlint import __version__\n",
    })
    assert [describe(c) for c in cycles(graph(package))] == [
        "rmlint (line 2) -> rmlint.lint (line 1) -> rmlint.about (line 1) -> rmlint"]


def test_names_imported_from_a_package_go_to_the_package_unless_they_are_modules(tmp_path):
    package = _package(tmp_path, {
        "__init__.py": "",
        "sources/__init__.py": "LIMIT = 1\n",
        "sources/text.py": "",
        "user.py": "from .sources import LIMIT, text\nimport rmlint.sources.text as t\n",
    })
    assert sorted(graph(package)["rmlint.user"]) == [("rmlint.sources", 1), ("rmlint.sources.text", 1),
                                                     ("rmlint.sources.text", 2)]


@pytest.mark.parametrize("module,target", [("rmlint.sources.text", "rmlint.frameworks.openrlhf.flags"),
                                           ("rmlint.facts", "rmlint.frameworks.checkpoint.subjects"),
                                           ("rmlint.engine", "rmlint.lint")])
def test_an_upward_import_is_reported(module, target):
    assert upward({module: [(target, 3)]}) == [(module, 3, target)]
    assert upward({target: [(module, 3)]}) == []


def test_a_module_outside_every_layer_is_refused():
    with pytest.raises(AssertionError, match="rmlint.newcomer has no layer"):
        upward({"rmlint.lint": [("rmlint.newcomer", 3)]})
