"""The Python side's layering, the twin of test/unit/layers.test.ts. Every import inside
trainer/wordplay_trainer, relative or of `wordplay_trainer.`, at the top of a module or inside a
function, is read with ast. The test fails on a cycle between modules or between folders, on an
import from one folder into another that ARCHITECTURE.md's table (section "### Python") does not
allow, on a folder the table lacks or a row for none, and on a module ARCHITECTURE.md does not
name by its path (e.g. `train/loop.py`). The package's top-level files (__main__.py) are the
folder `wordplay_trainer`; an __init__.py holds only its docstring, so it needs no name."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest
from conftest import TRAINER_DIR

PACKAGE_DIR = TRAINER_DIR / "wordplay_trainer"
ROOT = PACKAGE_DIR.name  # the folder of the package's top-level files
ARCHITECTURE = (TRAINER_DIR.parent / "ARCHITECTURE.md").read_text(encoding="utf-8")
SECTION = "### Python (`trainer/wordplay_trainer/`)"


def module_name(file: Path) -> str:
    parts = file.relative_to(PACKAGE_DIR.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


MODULES = {module_name(f): f for f in sorted(PACKAGE_DIR.rglob("*.py"))}


def folder(module: str) -> str:
    """The folder a module is in: its subpackage, or ROOT for the package's own files."""
    file = MODULES[module]
    rel = file.relative_to(PACKAGE_DIR)
    return rel.parts[0] if len(rel.parts) > 1 else ROOT


def imported(module: str) -> set[str]:
    """The package's modules that `module` imports, anywhere in it."""
    file = MODULES[module]
    package = module if file.name == "__init__.py" else module.rpartition(".")[0]
    found = set()

    def add(name: str) -> None:
        while name not in MODULES:  # a name imported from a module, not a module of its own
            name = name.rpartition(".")[0]
        found.add(name)

    for node in ast.walk(ast.parse(file.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.split(".")[0] == ROOT:
                    add(alias.name)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[: len(package.split(".")) - node.level + 1]
                target = ".".join([*base, *([node.module] if node.module else [])])
            elif node.module and node.module.split(".")[0] == ROOT:
                target = node.module
            else:
                continue
            for alias in node.names:
                sub = f"{target}.{alias.name}"
                add(sub if sub in MODULES else target)
    found.discard(module)
    return found


def allowed_imports() -> dict[str, set[str]]:
    """ARCHITECTURE.md's table: each folder, and the folders it may import from."""
    start = ARCHITECTURE.index(SECTION)
    end = ARCHITECTURE.find("\n#", start + len(SECTION))
    table = {}
    for line in ARCHITECTURE[start : end if end >= 0 else None].splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if not line.startswith("| `") or len(cells) < 2:
            continue
        table[re.findall(r"`([^`]+)`", cells[0])[0]] = set(re.findall(r"`([^`]+)`", cells[1]))
    return table


def cycle(edges: dict[str, set[str]]) -> list[str] | None:
    """A cycle in a directed graph, as the nodes along it (the first repeated at the end)."""
    done: set[str] = set()

    def visit(node: str, path: list[str]) -> list[str] | None:
        if node in path:
            return path[path.index(node) :] + [node]
        if node in done:
            return None
        for nxt in sorted(edges.get(node, ())):
            found = visit(nxt, [*path, node])
            if found:
                return found
        done.add(node)
        return None

    for node in sorted(edges):
        found = visit(node, [])
        if found:
            return found
    return None


def forbidden(edges: dict[str, set[str]], allowed: dict[str, set[str]]) -> list[str]:
    """Every import from one folder into another that the table does not allow."""
    return [
        f"{a} ({folder(a)}) imports {b} ({folder(b)})"
        for a, targets in sorted(edges.items())
        for b in sorted(targets)
        if folder(a) != folder(b) and folder(b) not in allowed.get(folder(a), set())
    ]


EDGES = {m: imported(m) for m in MODULES}
FOLDER_EDGES: dict[str, set[str]] = {}
for a, targets in EDGES.items():
    FOLDER_EDGES.setdefault(folder(a), set()).update(folder(b) for b in targets if folder(b) != folder(a))


def test_the_imports_are_read():
    # guards the reader itself: the train command reaches the loop, a function's deferred import
    # is an edge too, and the tests' own package name is resolved
    assert "wordplay_trainer.train.loop" in EDGES["wordplay_trainer.commands.train"]
    assert "wordplay_trainer.export.onnx_model" in EDGES["wordplay_trainer.commands.train"]
    assert EDGES["wordplay_trainer.common.errors"] == set()


def test_no_cycle_between_modules():
    assert cycle(EDGES) is None, " -> ".join(cycle(EDGES) or [])


def test_no_cycle_between_folders():
    assert cycle(FOLDER_EDGES) is None, " -> ".join(cycle(FOLDER_EDGES) or [])


def test_every_import_between_folders_is_allowed():
    assert forbidden(EDGES, allowed_imports()) == []


def test_the_table_has_a_row_for_every_folder_and_no_other():
    folders = {folder(m) for m in MODULES}
    table = allowed_imports()
    assert set(table) == folders
    assert all(targets <= folders for targets in table.values()), table


@pytest.mark.parametrize("file", sorted(MODULES.values()), ids=lambda f: str(f.relative_to(PACKAGE_DIR)))
def test_every_module_is_named_in_architecture_md(file):
    rel = file.relative_to(PACKAGE_DIR).as_posix()
    if file.name == "__init__.py":
        body = ast.parse(file.read_text(encoding="utf-8")).body
        assert len(body) == 1 and isinstance(body[0], ast.Expr), f"{rel} holds more than its docstring"
        return
    assert re.search(rf"(?<![\w/]){re.escape(rel)}", ARCHITECTURE), f"ARCHITECTURE.md does not name {rel}"


def test_the_checks_find_what_they_look_for():
    assert cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert cycle({"a": {"b"}, "b": set(), "c": {"a", "b"}}) is None
    loop, command = "wordplay_trainer.train.loop", "wordplay_trainer.commands.train"
    assert forbidden({loop: {command}}, allowed_imports()) == [f"{loop} (train) imports {command} (commands)"]
