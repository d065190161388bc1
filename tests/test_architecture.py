"""The import graph of the runtime packages points down only, and has no cycle.

The layer order below is the one place in the code where it is written (the README's "Stages and
who owns them" draws the same picture). The graph is read with `ast` from the source files, so it
sees every import a module can execute: at module level, inside functions and `if TYPE_CHECKING:`
blocks, relative ones (`from . import x`) and `importlib.import_module("...")` with a literal
name. An import hidden inside a function still runs, so it counts like any other.

Rules:
- a package may import only packages below it in LAYERS (and itself); `dags` and `plugins`
  only `cadl` and `kernel` (DAG files and Airflow plugins wire, the application does the work),
  so neither imports the other and, being on top, nothing imports them;
- no cycle between packages, and none between modules (inside one package either);
- runtime code imports nothing from `tests/` or `bench/` (they are outside the graph);
- a runtime module over 400 lines says in its docstring why (or is split).

Each failure names the file, the line and the import, so a technician can go straight to it.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass
from pathlib import Path

import pytest

# Bottom to top. Layer numbers in messages are positions in this list, counted from 1.
LAYERS: tuple[str, ...] = (
    "kernel",
    "ingest",
    "ocr",
    "metadata",
    "preservation",
    "publication",
    "cadl",
    "dags",
    "plugins",
)
# Packages whose allowed imports are narrower than "everything below": the two folders Airflow
# loads itself (DAG files; plugins/, the collection view's registration) only wire cadl in.
WIRING: tuple[str, ...] = ("dags", "plugins")
ONLY_IMPORTS: dict[str, frozenset[str]] = {p: frozenset({"cadl", "kernel"}) for p in WIRING}
# First-party folders outside the graph: runtime code must not import them.
OUTSIDE_GRAPH: tuple[str, ...] = ("tests", "bench")

REPO = Path(__file__).resolve().parents[1]


@dataclass(frozen=True)
class Import:
    """One import statement of one module: where it is and which module it reaches."""

    source: str  # dotted name of the importing module, e.g. "ingest.partner"
    path: str  # file relative to the root, e.g. "ingest/partner.py"
    line: int
    target: str  # dotted name of the imported module, e.g. "preservation.bagcheck"

    @property
    def where(self) -> str:
        return f"{self.path}:{self.line}"


def _module_name(root: Path, file: Path) -> str:
    parts = list(file.relative_to(root).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def discover_modules(root: Path, packages: tuple[str, ...] = LAYERS) -> dict[str, Path]:
    """Every module of the given top-level folders: dotted name -> file."""
    modules: dict[str, Path] = {}
    for package in packages:
        folder = root / package
        if not folder.is_dir():
            continue
        for file in sorted(folder.rglob("*.py")):
            modules[_module_name(root, file)] = file
    return modules


def _resolve_relative(source: str, is_package: bool, level: int, module: str | None) -> str:
    parts = source.split(".")
    # A package's own __init__ is its base; a plain module's base is the package holding it.
    base = parts if is_package else parts[:-1]
    if level > 1:
        base = base[: len(base) - (level - 1)]
    return ".".join([*base, module] if module else base)


def _targets(node: ast.AST, source: str, is_package: bool) -> list[str]:
    """The dotted names a node imports; for `from X import y`, X.y when that could be a module."""
    if isinstance(node, ast.Import):
        return [alias.name for alias in node.names]
    if isinstance(node, ast.ImportFrom):
        base = (
            _resolve_relative(source, is_package, node.level, node.module)
            if node.level
            else node.module or ""
        )
        # `from pkg import mod` reaches pkg.mod when that is a module, else pkg itself: both
        # are offered, and read_imports keeps the most specific one that exists.
        return [f"{base}.{alias.name}" for alias in node.names if alias.name != "*"] + [base]
    if isinstance(node, ast.Call):
        func = node.func
        name = (
            func.attr
            if isinstance(func, ast.Attribute)
            else func.id
            if isinstance(func, ast.Name)
            else ""
        )
        if name in ("import_module", "__import__") and node.args:
            first = node.args[0]
            if isinstance(first, ast.Constant) and isinstance(first.value, str):
                return [first.value]
    return []


def read_imports(root: Path, packages: tuple[str, ...] = LAYERS) -> list[Import]:
    """Every import between first-party modules in the given packages, with file and line.

    A target that names something inside a module (`from kernel.errors import PipelineError`)
    is reduced to the longest prefix that is a known module; imports of third-party code and the
    standard library are dropped. Imports of first-party folders outside `packages` (tests,
    bench, an unlisted new package) are kept with their top-level name so they can be refused.
    """
    modules = discover_modules(root, packages)
    first_party = set(packages) | {
        p.name for p in root.iterdir() if p.is_dir() and any(p.glob("*.py"))
    }
    found: dict[tuple[str, int, str], Import] = {}
    for source, file in modules.items():
        rel = file.relative_to(root).as_posix()
        tree = ast.parse(file.read_text(encoding="utf-8"), filename=rel)
        is_package = file.name == "__init__.py"
        for node in ast.walk(tree):
            raws = _targets(node, source, is_package)
            if isinstance(node, ast.ImportFrom):
                named = [raw for raw in raws[:-1] if raw in modules]
                raws = named or raws[-1:]
            for raw in raws:
                if raw.split(".")[0] not in first_party:
                    continue
                target = raw
                while target not in modules and "." in target:
                    target = target.rsplit(".", 1)[0]
                if target == source:
                    continue  # `from . import x` in a package's own __init__, x not a module
                key = (source, node.lineno, target)
                found.setdefault(key, Import(source, rel, node.lineno, target))
    return sorted(found.values(), key=lambda i: (i.path, i.line, i.target))


def _layer(package: str, layers: tuple[str, ...]) -> int:
    return layers.index(package) + 1


def layer_violations(
    imports: list[Import],
    layers: tuple[str, ...] = LAYERS,
    only: dict[str, frozenset[str]] = ONLY_IMPORTS,
) -> list[str]:
    """One message per import that points up the layers, or out of the graph."""
    problems = []
    for imp in imports:
        src, dst = imp.source.split(".")[0], imp.target.split(".")[0]
        if src == dst:
            continue
        if dst not in layers:
            problems.append(
                f"{imp.where} imports {imp.target}: {dst} is not a runtime package "
                f"(runtime packages: {', '.join(layers)}; tests and bench are outside the graph)"
            )
            continue
        allowed = only.get(src)
        if allowed is not None and dst not in allowed:
            problems.append(
                f"{imp.where} imports {imp.target}: {src} may import only "
                f"{' and '.join(sorted(allowed))}, not {dst}"
            )
        elif _layer(dst, layers) > _layer(src, layers):
            problems.append(
                f"{imp.where} imports {imp.target}: {src} (layer {_layer(src, layers)}) "
                f"may not import {dst} (layer {_layer(dst, layers)})"
            )
    return problems


def _strongly_connected(graph: dict[str, set[str]]) -> list[list[str]]:
    """Tarjan's algorithm, iterative; components in a stable order, each sorted."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    on_stack: set[str] = set()
    stack: list[str] = []
    components: list[list[str]] = []
    counter = 0
    for start in sorted(graph):
        if start in index:
            continue
        work = [(start, iter(sorted(graph[start])))]
        index[start] = low[start] = counter
        counter += 1
        stack.append(start)
        on_stack.add(start)
        while work:
            node, children = work[-1]
            advanced = False
            for child in children:
                if child not in index:
                    index[child] = low[child] = counter
                    counter += 1
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(graph.get(child, ())))))
                    advanced = True
                    break
                if child in on_stack:
                    low[node] = min(low[node], index[child])
            if advanced:
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[node])
            if low[node] == index[node]:
                component = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.append(member)
                    if member == node:
                        break
                if len(component) > 1 or node in graph.get(node, ()):
                    components.append(sorted(component))
    return sorted(components)


def _cycle_path(component: list[str], graph: dict[str, set[str]]) -> list[str]:
    """One concrete cycle through the first member of a strongly connected component."""
    members = set(component)
    start = component[0]
    # Breadth-first from start back to start inside the component: the shortest cycle.
    previous: dict[str, str] = {}
    frontier = [start]
    while frontier:
        following = []
        for node in frontier:
            for child in sorted(graph[node] & members):
                if child == start:
                    path = [node]
                    while path[-1] != start:
                        path.append(previous[path[-1]])
                    return [start, *reversed(path[:-1]), start] if node != start else [start, start]
                if child not in previous:
                    previous[child] = node
                    following.append(child)
        frontier = following
    raise AssertionError(f"no cycle in component {component}")  # pragma: no cover


def cycles(imports: list[Import], level: str) -> list[str]:
    """One message per import cycle, between modules (level="module") or packages ("package")."""

    def node(name: str) -> str:
        return name.split(".")[0] if level == "package" else name

    graph: dict[str, set[str]] = {}
    edges: dict[tuple[str, str], list[Import]] = {}
    for imp in imports:
        a, b = node(imp.source), node(imp.target)
        if a == b and level == "package":
            continue
        graph.setdefault(a, set()).add(b)
        graph.setdefault(b, set())
        edges.setdefault((a, b), []).append(imp)
    problems = []
    for component in _strongly_connected(graph):
        # One concrete cycle, with the imports that make each of its steps; a group of more
        # members than the cycle shows is named, and the next run shows its other cycles.
        path = _cycle_path(component, graph)
        lines = [f"{imp.where} imports {imp.target}"
                 for a, b in zip(path, path[1:]) for imp in edges[(a, b)]]
        rest = sorted(set(component) - set(path))
        also = f" (the same tangle also holds {', '.join(rest)})" if rest else ""
        problems.append(
            f"import cycle between {level}s {' -> '.join(path)}: " + "; ".join(lines) + also
        )
    return problems


def check(root: Path, layers: tuple[str, ...] = LAYERS) -> list[str]:
    """Every architecture problem of the tree at root, as messages naming file, line, import."""
    imports = read_imports(root, layers)
    return (
        layer_violations(imports, layers)
        + cycles(imports, "package")
        + cycles(imports, "module")
    )


# --- the project itself ---------------------------------------------------------------------


def test_every_runtime_package_is_in_the_layer_order():
    # Airflow reads dags/ and plugins/ from their folders; everything else is installed.
    installed = {package.split(".")[0] for package in _installed_packages()}
    assert installed | set(WIRING) == set(LAYERS), (
        "pyproject.toml [tool.setuptools] packages and LAYERS in tests/test_architecture.py "
        f"must name the same packages: {sorted(installed)} vs {list(LAYERS)}"
    )
    for package in LAYERS:
        assert (REPO / package).is_dir(), f"{package}/ is in LAYERS but not in the repository"


def _installed_packages() -> list[str]:
    import tomllib

    data = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))
    return list(data["tool"]["setuptools"]["packages"])


def test_the_graph_is_read_from_every_module():
    # A reader that found nothing would pass every rule; make sure it sees the real graph.
    imports = read_imports(REPO)
    sources = {imp.source.split(".")[0] for imp in imports}
    assert sources == set(LAYERS) - {"kernel"} or sources == set(LAYERS), sources
    assert any(imp.target == "kernel.errors" for imp in imports)
    # Function-level imports count: the DAG files import cadl.pipeline inside their tasks.
    assert any(
        imp.source == "dags.ingest_batch" and imp.target == "cadl.pipeline" for imp in imports
    )
    # The Airflow plugin is read too (a folder without __init__.py, as Airflow loads it).
    assert any(
        imp.source == "plugins.cadl_collection" and imp.target == "cadl.webapp"
        for imp in imports
    )


def test_no_import_points_up_the_layers():
    problems = layer_violations(read_imports(REPO))
    assert not problems, "imports against the layer order:\n" + "\n".join(problems)


def test_no_import_cycle_between_packages():
    problems = cycles(read_imports(REPO), "package")
    assert not problems, "\n".join(problems)


def test_no_import_cycle_between_modules():
    problems = cycles(read_imports(REPO), "module")
    assert not problems, "\n".join(problems)


MAX_LINES = 400  # the house rule: longer modules say why in their docstring (or are split)


def long_modules_without_reason(root: Path, packages: tuple[str, ...] = LAYERS) -> list[str]:
    """Runtime modules over MAX_LINES lines whose docstring does not say why ("400 lines")."""
    problems = []
    for file in discover_modules(root, packages).values():
        text = file.read_text(encoding="utf-8")
        lines = text.count("\n") + (not text.endswith("\n") and bool(text))
        docstring = ast.get_docstring(ast.parse(text)) or ""
        if lines > MAX_LINES and f"{MAX_LINES} lines" not in docstring:
            problems.append(
                f"{file.relative_to(root).as_posix()} has {lines} lines: split it where a seam "
                f"exists, or say in its module docstring why it needs over {MAX_LINES} lines"
            )
    return sorted(problems)


def test_a_module_over_400_lines_says_why():
    problems = long_modules_without_reason(REPO)
    assert not problems, "\n".join(problems)


def test_a_long_module_without_a_reason_is_named(tmp_path: Path):
    body = "x = 1\n" * MAX_LINES
    _tree(tmp_path, {"ocr/long.py": '"""Long."""\n' + body,
                     "ocr/reasoned.py": f'"""Over {MAX_LINES} lines on purpose."""\n' + body})
    assert long_modules_without_reason(tmp_path) == [
        f"ocr/long.py has {MAX_LINES + 1} lines: split it where a seam exists, or say in its "
        f"module docstring why it needs over {MAX_LINES} lines"
    ]


# --- the checker can fail ---------------------------------------------------------------------


def _tree(root: Path, files: dict[str, str]) -> Path:
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    return root


@pytest.fixture
def layered(tmp_path: Path) -> Path:
    """A small tree with every runtime package and one clean module in each."""
    files = {f"{p}/__init__.py": '"""p."""\n' for p in LAYERS if p not in WIRING}
    files["kernel/errors.py"] = "class PipelineError(Exception):\n    pass\n"
    files["preservation/bagcheck.py"] = "from kernel.errors import PipelineError\n"
    files["dags/ingest_batch.py"] = "def task():\n    from cadl.pipeline import run\n"
    files["plugins/collection.py"] = "from cadl.pipeline import run\nfrom kernel import errors\n"
    files["cadl/pipeline.py"] = "from publication import access\n\ndef run():\n    pass\n"
    files["publication/access.py"] = "from preservation.bagcheck import PipelineError\n"
    return _tree(tmp_path, files)


def test_a_clean_tree_passes(layered: Path):
    assert check(layered) == []


def test_an_upward_import_is_named_with_file_line_and_layers(layered: Path):
    _tree(
        layered,
        {
            "ingest/partner.py": (
                '"""Partner bags."""\n\nimport json\n\n\n'
                "def accept(bag):\n"
                "    from preservation.bagcheck import PipelineError\n"
                "    return PipelineError\n"
            )
        },
    )
    problems = check(layered)
    assert (
        "ingest/partner.py:7 imports preservation.bagcheck: "
        "ingest (layer 2) may not import preservation (layer 5)"
    ) in problems
    print("\n".join(problems))


def test_a_relative_import_is_resolved_and_checked(layered: Path):
    _tree(layered, {"kernel/settings.py": "from ..ocr import engine\n", "ocr/engine.py": ""})
    assert check(layered)[0] == (
        "kernel/settings.py:1 imports ocr.engine: kernel (layer 1) may not import ocr (layer 3)"
    )


def test_a_dag_file_may_import_only_cadl_and_kernel(layered: Path):
    _tree(layered, {"dags/watch.py": "from ingest import models\n", "ingest/models.py": ""})
    assert check(layered) == [
        "dags/watch.py:1 imports ingest.models: dags may import only cadl and kernel, not ingest"
    ]


def test_a_plugin_may_import_only_cadl_and_kernel(layered: Path):
    _tree(layered, {"plugins/view.py": "import json\n\nfrom publication.access import x\n"
                                       "from dags import ingest_batch\n"})
    assert check(layered) == [
        "plugins/view.py:3 imports publication.access: plugins may import only cadl and kernel, "
        "not publication",
        "plugins/view.py:4 imports dags.ingest_batch: plugins may import only cadl and kernel, "
        "not dags",
    ]


def test_nothing_may_import_a_plugin(layered: Path):
    _tree(layered, {"cadl/webapp.py": "def app():\n    from plugins import collection\n",
                    "dags/view.py": "import plugins.collection\n"})
    problems = check(layered)
    assert problems[:2] == [
        "cadl/webapp.py:2 imports plugins.collection: cadl (layer 7) may not import plugins "
        "(layer 9)",
        "dags/view.py:1 imports plugins.collection: dags may import only cadl and kernel, "
        "not plugins",
    ]
    # The plugin imports cadl, so cadl importing it back is also a cycle.
    assert problems[2].startswith("import cycle between packages cadl -> plugins -> cadl")


def test_runtime_code_may_not_import_tests_or_bench(layered: Path):
    _tree(layered, {"ocr/cer.py": "import bench.markdown\n", "bench/markdown.py": ""})
    (problem,) = check(layered)
    assert problem.startswith("ocr/cer.py:1 imports bench: bench is not a runtime package")


def test_a_module_cycle_inside_one_package_is_named(layered: Path):
    _tree(
        layered,
        {
            "preservation/deposit.py": "from preservation import replica\n",
            "preservation/replica.py": (
                "def copy():\n    from .deposit import deposit\n    return deposit\n"
            ),
        },
    )
    assert check(layered) == [
        "import cycle between modules preservation.deposit -> preservation.replica -> "
        "preservation.deposit: preservation/deposit.py:1 imports preservation.replica; "
        "preservation/replica.py:2 imports preservation.deposit"
    ]


def test_a_package_cycle_is_named_besides_the_upward_import(layered: Path):
    _tree(
        layered,
        {
            "ocr/alto.py": "import metadata.mets\n",
            "metadata/mets.py": "from ocr.alto import write\n",
        },
    )
    problems = check(layered)
    assert problems[0] == (
        "ocr/alto.py:1 imports metadata.mets: ocr (layer 3) may not import metadata (layer 4)"
    )
    assert (
        "import cycle between packages metadata -> ocr -> metadata: "
        "metadata/mets.py:1 imports ocr.alto; ocr/alto.py:1 imports metadata.mets"
    ) in problems
    assert any(p.startswith("import cycle between modules metadata.mets -> ocr.alto") for p in problems)
