"""The README's JupyterHub command, run as written into an older hub stack: it installs lossviz and
only what that Python lacks, moves none of the hub's packages, and a notebook then runs there.

The stack: JupyterLab 4.2, ipywidgets 8.1.2, matplotlib 3.8, NumPy 1.26 (and the local torch
2.13.0, as a hub image brings its own PyTorch). `git clone` is replaced by this checkout: the
command is run in a folder where ./lossviz is this repository.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
from pathlib import Path

import pytest

from venv_cache import ROOT, cached_venv, copy_with_headers, freeze, locked

pytestmark = pytest.mark.venv

HUB_STACK = ["jupyterlab==4.2.5", "ipywidgets==8.1.2", "matplotlib==3.8.4", "numpy==1.26.4",
             "torch==2.13.0"]
NOTEBOOK = "en/02_where_sigmoid_bce_breaks.ipynb"


def readme_hub_commands() -> list[str]:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    block = re.search(r"<!-- generated:hub-install -->\n```\n(.*?)```", readme, re.S)
    assert block, "README.md has no generated hub-install block"
    return [line for line in block[1].splitlines() if line.strip()]


def test_readme_hub_command_leaves_the_hubs_own_versions():
    commands = readme_hub_commands()
    assert commands[0].startswith("git clone ") and commands[0].endswith(" lossviz"), commands
    install = commands[1:]
    assert install and all(line.startswith("python -m pip install") for line in install), install
    assert not any("-c " in line or "constraints" in line or "[" in line for line in install), (
        f"the hub command must not force the tested pins or extras on the hub: {install}")


@pytest.fixture(scope="module")
def hub(tmp_path_factory):
    venv = cached_venv("hub", HUB_STACK)
    python = venv / "bin" / "python"
    subprocess.run([str(python), "-m", "pip", "uninstall", "--yes", "lossviz",
                    "koreanize-matplotlib"], capture_output=True, check=True)
    before = freeze(python)
    home = tmp_path_factory.mktemp("hub_home")
    (home / "lossviz").symlink_to(ROOT)  # what `git clone ... lossviz` leaves
    env = dict(os.environ, PATH=f"{venv / 'bin'}{os.pathsep}{os.environ['PATH']}")
    env.pop("VIRTUAL_ENV", None)
    with locked("build"):  # pip builds ./lossviz in the tree (build/, lossviz.egg-info)
        for command in readme_hub_commands()[1:]:
            done = subprocess.run(command, shell=True, cwd=home, env=env, capture_output=True,
                                  text=True, timeout=900)
            assert done.returncode == 0, f"{command}:\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}"
    after = freeze(python)
    work = tmp_path_factory.mktemp("hub_notebooks")
    notebooks = copy_with_headers(work)
    out = work / "result.json"
    done = subprocess.run([str(python), str(ROOT / "tests" / "run_notebooks.py"), str(out),
                           "--explore", str(notebooks / NOTEBOOK)],
                          env=env, capture_output=True, text=True, timeout=900)
    assert done.returncode == 0, f"run_notebooks.py failed:\n{done.stdout}\n{done.stderr}"
    result = next(iter(json.loads(out.read_text(encoding="utf-8")).values()))
    return {"before": before, "after": after, "result": result}


def test_hub_packages_did_not_move(hub):
    before, after = hub["before"], hub["after"]
    for pin in HUB_STACK:
        name, version = pin.split("==")
        assert after[name].split("+")[0] == version, f"{name} moved to {after[name]}"
    moved = {name: (version, after.get(name)) for name, version in before.items()
             if after.get(name) != version}
    assert not moved, f"the hub command changed the hub's packages (before, after): {moved}"
    added = sorted(set(after) - set(before))
    assert added == ["koreanize-matplotlib", "lossviz"], f"the hub command added {added}"


def test_notebook_runs_on_the_hub_stack(hub):
    result = hub["result"]
    assert result["error"] is None, f"{NOTEBOOK} failed on the hub stack:\n{result['error']}"
    assert not result["stderr"], f"{NOTEBOOK} wrote to stderr: {result['stderr']}"
    assert result["setup"]["text"] == "", "lossviz is installed: the setup cell must be silent"
    assert result["explored"] and all(result["explored"].values()), result["explored"]
