"""The README's two commands, as a newcomer types them: `make demo` / `make test` with no PYTHON make
the virtualenv themselves; CI's `make test PYTHON=…` installs into the interpreter it names.

The Makefile runs in a scratch copy whose scripts/install.sh only records the interpreter it was given
(the real install is what CI runs); the virtualenv is a real `python3 -m venv`.
"""

import os
import re
import shutil
import subprocess
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def scratch_checkout(tmp_path: Path) -> Path:
    shutil.copy(REPO / "Makefile", tmp_path / "Makefile")
    (tmp_path / "scripts").mkdir()
    (tmp_path / "scripts" / "install.sh").write_text('echo "$PYTHON" > installed-into\n')
    return tmp_path


def newcomer_env() -> dict[str, str]:
    """This process's environment without what an outer ``make test PYTHON=…`` (CI) hands down:
    make passes its command-line variables to every make below it through MAKEFLAGS."""
    return {k: v for k, v in os.environ.items() if k not in {"MAKEFLAGS", "MFLAGS", "MAKELEVEL", "PYTHON"}}


def test_make_install_without_python_makes_the_venv_and_installs_into_it(tmp_path):
    checkout = scratch_checkout(tmp_path)
    subprocess.run(["make", "install-test"], cwd=checkout, check=True, capture_output=True, timeout=120,
                   env=newcomer_env())
    venv_python = checkout / ".venv" / "bin" / "python"
    assert venv_python.exists()
    assert subprocess.run([venv_python, "-c", "import sys; assert sys.prefix != sys.base_prefix"]).returncode == 0
    assert (checkout / "installed-into").read_text().strip() == ".venv/bin/python"


def test_make_with_python_given_uses_it_and_makes_no_venv(tmp_path):
    checkout = scratch_checkout(tmp_path)
    subprocess.run(["make", "install", "PYTHON=/usr/bin/python3"], cwd=checkout, check=True,
                   capture_output=True, timeout=60)
    assert not (checkout / ".venv").exists()
    assert (checkout / "installed-into").read_text().strip() == "/usr/bin/python3"


def test_readme_set_up_is_the_two_commands_and_ci_passes_its_interpreter():
    readme = (REPO / "README.md").read_text()
    block = readme.split("## The two commands", 1)[1].split("```sh", 1)[1].split("```", 1)[0]
    commands = [line.split("#")[0].strip() for line in block.strip().splitlines()]
    assert commands == ["make demo", "make test"]
    assert re.search(r'^make test PYTHON="\$venv_parent/venv/bin/python"$', (REPO / ".ci" / "run").read_text(), re.M)
