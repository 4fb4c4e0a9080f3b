"""The house plan, enforced: core/ in layers, no cycles, no private names across modules, small units.

``core/`` is a stack of packages; each may use the ones below it and never one
above (or a sibling of the same rank), so a reader can understand ``data``
without ``train`` and nothing in the engine drags in the command line:

    foundation (errors, events, fsutil, config, project, appdirs, formats)
    data  <  capture  <  model  <  runs  <  infer, insight  <  train, export, audit  <  label  <  cli

Every import counts, including those inside functions (a lazy import is still a
dependency).  The checks read the source with :mod:`ast`; nothing is imported.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent

#: Rank of each core package; "" is the foundation (modules directly in core/).
LAYERS = {"": 0, "data": 1, "capture": 1.5, "model": 2, "runs": 3, "features": 3, "trust": 3.5,
          "infer": 4, "insight": 4, "train": 5, "export": 5, "audit": 5, "label": 5.5, "serve": 6, "report": 6, "cli": 9}
MAX_MODULE_LINES = 400
MAX_FUNCTION_LINES = 80


def module_name(path: Path) -> str:
    rel = path.relative_to(ROOT).with_suffix("")
    parts = list(rel.parts)
    if parts[-1] == "__init__":
        parts = parts[:-1]
    return ".".join(parts)


def sources(top: str) -> dict[str, Path]:
    return {module_name(p): p for p in sorted((ROOT / top).rglob("*.py"))}


def imports_of(path: Path, name: str) -> list[tuple[str, list[str], int]]:
    """(imported module, names imported from it, line) for every import in the file."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    is_pkg = path.name == "__init__.py"
    out = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            out.extend((a.name, [], node.lineno) for a in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = name.split(".")
                base = base[:len(base) - node.level + (1 if is_pkg else 0)]
                target = ".".join(base + ([node.module] if node.module else []))
            else:
                target = node.module or ""
            out.append((target, [a.name for a in node.names], node.lineno))
    return out


def resolve(target: str, names: list[str], known: set[str]) -> list[str]:
    """The known modules an import statement depends on (``from pkg import mod`` included)."""
    found = [target] if target in known else []
    for n in names:
        if f"{target}.{n}" in known:
            found.append(f"{target}.{n}")
    if not found:  # "import core.x.y" of a name inside a module: take the longest known prefix
        parts = target.split(".")
        while parts and ".".join(parts) not in known:
            parts.pop()
        if parts:
            found.append(".".join(parts))
    return found


def package_of(module: str) -> str:
    parts = module.split(".")
    if len(parts) <= 2 and (ROOT / "core" / f"{parts[-1]}.py").exists() or module == "core":
        return ""
    return parts[1]


def graph(top: str = "core") -> dict[str, set[str]]:
    mods = sources(top)
    known = set(mods)
    g: dict[str, set[str]] = {m: set() for m in mods}
    for m, path in mods.items():
        for target, names, _ in imports_of(path, m):
            for dep in resolve(target, names, known):
                if dep != m and not (m.startswith(dep + ".") and dep.count(".") < m.count(".")
                                     and (ROOT / dep.replace(".", "/") / "__init__.py").exists()):
                    g[m].add(dep)
    return g


def find_cycle(g: dict[str, set[str]]) -> list[str]:
    """One import cycle as a list of modules (first repeated at the end), or []."""
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(n: str) -> list[str]:
        state[n] = 1
        stack.append(n)
        for d in sorted(g.get(n, ())):
            if state.get(d) == 1:
                return stack[stack.index(d):] + [d]
            if d not in state:
                found = visit(d)
                if found:
                    return found
        stack.pop()
        state[n] = 2
        return []

    for n in sorted(g):
        if n not in state:
            cycle = visit(n)
            if cycle:
                return cycle
    return []


def layer_violations(g: dict[str, set[str]]) -> list[str]:
    bad = []
    for m, deps in g.items():
        own = package_of(m)
        for d in deps:
            other = package_of(d)
            if other == own:
                continue
            if LAYERS[other] >= LAYERS[own]:
                bad.append(f"{m} ({own or 'foundation'}) imports {d} ({other or 'foundation'})")
    return sorted(bad)


def test_every_core_package_has_a_layer():
    packages = {p.name for p in (ROOT / "core").iterdir()
                if p.is_dir() and (p / "__init__.py").exists()}
    assert packages <= set(LAYERS), f"give {sorted(packages - set(LAYERS))} a rank in LAYERS"


def test_no_import_cycle_in_core():
    cycle = find_cycle(graph("core"))
    assert not cycle, "import cycle: " + " -> ".join(cycle)


def test_no_upward_or_sideways_import_between_layers():
    assert not layer_violations(graph("core"))


def test_the_checks_catch_a_planted_cycle_and_an_upward_import():
    g = graph("core")
    g["core.data.imageio"] = set(g["core.data.imageio"]) | {"core.train.engine"}
    g["core.train.engine"] = set(g["core.train.engine"]) | {"core.data.imageio"}
    assert find_cycle(g)
    assert any("core.data.imageio (data) imports core.train.engine" in v
               for v in layer_violations(g))


def test_gui_does_not_import_pages_from_other_pages_or_widgets():
    g = graph("gui")
    bad = []
    for m, deps in g.items():
        for d in deps:
            if d.startswith("gui.pages.") and not m.startswith("gui.pages."):
                if m not in ("gui.main_window", "gui.screenshots"):
                    bad.append(f"{m} imports {d}")
            if (m.startswith("gui.pages.") and d.startswith("gui.pages.")
                    and d.split(".")[2] != m.split(".")[2] and d != "gui.pages.base"):
                bad.append(f"{m} imports another page {d}")
    assert not bad, bad


@pytest.mark.parametrize("top", ["core", "gui"])
def test_no_private_name_imported_across_modules(top):
    mods = sources(top)
    bad = []
    for m, path in mods.items():
        for target, names, line in imports_of(path, m):
            if target == "__future__" or not target.startswith(("core", "gui")):
                continue
            for n in names:
                if n.startswith("_") and not n.startswith("__"):
                    bad.append(f"{path.relative_to(ROOT)}:{line}: {n} from {target}")
    assert not bad, bad


def _long_functions(path: Path) -> list[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    out = []
    for node in ast.walk(tree):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            n = node.end_lineno - node.lineno + 1
            if n > MAX_FUNCTION_LINES:
                out.append(f"{path.relative_to(ROOT)}:{node.lineno} {node.name} ({n} lines)")
    return out


@pytest.mark.parametrize("top", ["core", "gui"])
def test_modules_and_functions_stay_small(top):
    too_long = []
    for path in sorted((ROOT / top).rglob("*.py")):
        n = len(path.read_text(encoding="utf-8").splitlines())
        if n > MAX_MODULE_LINES:
            too_long.append(f"{path.relative_to(ROOT)} ({n} lines)")
        too_long.extend(_long_functions(path))
    assert not too_long, too_long
