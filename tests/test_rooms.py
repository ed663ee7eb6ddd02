"""Doors open one way: worker → server → scoring, and benches stand on the product, never on tests.

Read from the source with ``ast`` (every import statement, at any depth), so a late import inside
a function counts as much as one at the top of a file.
"""

import ast
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
FORBIDDEN = {
    "scoring": {"server", "worker", "bench", "tests", "fastapi", "sqlalchemy", "celery"},
    "server": {"worker", "bench", "tests"},
    "worker": {"bench", "tests"},
    "bench": {"tests"},
}


def imported_packages(path: Path) -> set[str]:
    found = set()
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Import):
            found |= {alias.name.partition(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            found.add(node.module.partition(".")[0])
    return found


@pytest.mark.parametrize("room", sorted(FORBIDDEN))
def test_a_room_imports_nothing_behind_its_one_way_doors(room):
    crossings = {str(path.relative_to(REPO)): sorted(imported_packages(path) & FORBIDDEN[room])
                 for path in sorted((REPO / room).rglob("*.py"))}
    assert {path: names for path, names in crossings.items() if names} == {}


def test_the_cli_is_a_package_and_no_cli_module_is_left_beside_it():
    assert (REPO / "server" / "cli" / "__init__.py").is_file()
    assert sorted(p.name for p in (REPO / "server").glob("cli_*.py")) == []
