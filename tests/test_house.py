"""The house's own guard: the floors, no import circles, no private names across modules.

kg/ is the ground floor; ingest/ and matching/ stand on it side by side and never import each
other; jobs/ stands on both; web/ and the CLI are the roof, and nothing imports the CLI
(docs/architecture.md). Every import counts, function-local ones too, and so do modules loaded
through `importlib.import_module` with a literal or `f"{__name__}.…"` name, which a plain
import scan cannot see. Imports under `if TYPE_CHECKING:` never run and do not count.
"""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
FLOORS = {"kg": 0, "ingest": 1, "matching": 1, "jobs": 2, "web": 3, "stakegraph_cli": 4}
SIBLINGS = {frozenset({"ingest", "matching"})}


def _modules() -> dict[str, Path]:
    mods = {}
    for pkg in FLOORS:
        for f in (ROOT / pkg).rglob("*.py"):
            parts = f.relative_to(ROOT).with_suffix("").parts
            mods[".".join(parts[:-1] if parts[-1] == "__init__" else parts)] = f
    return mods


def _owner(name: str, mods: dict[str, Path]) -> str | None:
    while name and name not in mods:
        name = name.rpartition(".")[0]
    return name or None


def _type_checking_nodes(tree: ast.AST) -> set[int]:
    skip: set[int] = set()
    for n in ast.walk(tree):
        if isinstance(n, ast.If) and "TYPE_CHECKING" in ast.unparse(n.test):
            skip.update(id(x) for x in ast.walk(n))
    return skip


def _imports(mod: str, path: Path, mods: dict[str, Path]) -> list[tuple[str, str | None, int]]:
    """(imported module, imported name or None, line) for every import the module can run."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    skip = _type_checking_nodes(tree)
    is_pkg = path.name == "__init__.py"
    out: list[tuple[str, str | None, int]] = []
    for n in ast.walk(tree):
        if id(n) in skip:
            continue
        if isinstance(n, ast.Import):
            out += [(a.name, None, n.lineno) for a in n.names]
        elif isinstance(n, ast.ImportFrom):
            base = n.module or ""
            if n.level:
                pkg = mod.split(".") if is_pkg else mod.split(".")[:-1]
                pkg = pkg[: len(pkg) - n.level + 1]
                base = ".".join([*pkg, base] if base else pkg)
            for a in n.names:
                sub = f"{base}.{a.name}"
                out.append((sub, None, n.lineno) if sub in mods else (base, a.name, n.lineno))
        elif isinstance(n, ast.Call) and ast.unparse(n.func) in ("importlib.import_module", "import_module") and n.args:
            arg = n.args[0]
            if isinstance(arg, ast.Constant) and isinstance(arg.value, str):
                out.append((arg.value, None, n.lineno))
                continue
            prefix = _fstring_prefix(arg, mod)
            if prefix.endswith(".") and prefix[:-1] in mods:  # f"{__name__}.{name}", f"pkg.{name}": any submodule
                out += [(m, None, n.lineno) for m in mods if m.rpartition(".")[0] == prefix[:-1]]
            else:  # a name from a registry list in the same module, e.g. BLUEPRINTS = ["web.auth:bp", …]
                out += [(c.value.partition(":")[0], None, c.lineno) for c in ast.walk(tree)
                        if isinstance(c, ast.Constant) and isinstance(c.value, str)
                        and c.value.partition(":")[0] in mods]
    return out


def _fstring_prefix(arg: ast.expr, mod: str) -> str:
    """The literal start of an f-string module name, with {__name__} read as the module's name."""
    if not isinstance(arg, ast.JoinedStr):
        return ""
    text = ""
    for v in arg.values:
        if isinstance(v, ast.Constant):
            text += str(v.value)
        elif ast.unparse(v.value) == "__name__":
            text += mod
        else:
            break
    return text


def _graph() -> tuple[dict[str, set[str]], list[str]]:
    mods = _modules()
    edges: dict[str, set[str]] = {m: set() for m in mods}
    problems: list[str] = []
    for mod, path in mods.items():
        for target, name, line in _imports(mod, path, mods):
            owner = _owner(target, mods)
            if owner is None or owner == mod:
                continue
            edges[mod].add(owner)
            where = f"{path.relative_to(ROOT)}:{line}"
            if name and name.startswith("_") and not name.startswith("__"):
                problems.append(f"{where}: imports the private name {name} from {owner}")
            a, b = mod.split(".")[0], owner.split(".")[0]
            if a == b:
                continue
            if b == "stakegraph_cli":
                problems.append(f"{where}: {mod} imports the CLI ({owner}); nothing imports the CLI")
            elif frozenset({a, b}) in SIBLINGS:
                problems.append(f"{where}: {mod} imports {owner}; {a}/ and {b}/ never import each other")
            elif FLOORS[b] >= FLOORS[a]:
                problems.append(f"{where}: {mod} (floor {FLOORS[a]}) imports {owner} (floor {FLOORS[b]})")
    return edges, problems


def _circles(edges: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan, iterative)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    on_stack: set[str] = set()
    stack: list[str] = []
    found: list[list[str]] = []
    counter = 0
    for root in sorted(edges):
        if root in index:
            continue
        work = [(root, iter(sorted(edges[root])))]
        index[root] = low[root] = counter
        counter += 1
        stack.append(root)
        on_stack.add(root)
        while work:
            v, it = work[-1]
            for w in it:
                if w not in index:
                    index[w] = low[w] = counter
                    counter += 1
                    stack.append(w)
                    on_stack.add(w)
                    work.append((w, iter(sorted(edges.get(w, ())))))
                    break
                if w in on_stack:
                    low[v] = min(low[v], index[w])
            else:
                work.pop()
                if work:
                    low[work[-1][0]] = min(low[work[-1][0]], low[v])
                if low[v] == index[v]:
                    comp = []
                    while True:
                        w = stack.pop()
                        on_stack.discard(w)
                        comp.append(w)
                        if w == v:
                            break
                    if len(comp) > 1:
                        found.append(sorted(comp))
    return found


def test_floors_and_private_names():
    _, problems = _graph()
    assert not problems, "the house is broken:\n" + "\n".join(problems)


def test_no_import_circles():
    edges, _ = _graph()
    circles = _circles(edges)
    assert not circles, "import circles:\n" + "\n".join(" <-> ".join(c) for c in circles)


def test_the_guard_sees_function_local_and_importlib_imports(tmp_path):
    """The scan itself: a local import and an importlib call are both edges."""
    mods = {"ingest.a": tmp_path / "a.py", "matching.b": tmp_path / "b.py"}
    (tmp_path / "a.py").write_text(
        "import importlib\n"
        "def f():\n    from matching.b import x\n"
        "def g():\n    importlib.import_module('matching.b')\n",
        encoding="utf-8",
    )
    found = _imports("ingest.a", mods["ingest.a"], mods)
    assert [(t, line) for t, _, line in found if t.startswith("matching")] == [("matching.b", 3), ("matching.b", 5)]
    assert _circles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": set()}) == [["a", "b", "c"]]
