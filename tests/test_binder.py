"""Binder, as near as this machine gets (no Docker, no conda): the install repo2docker does for this
repository, walked for real in a venv that holds repo2docker's own Jupyter environment.

What repo2docker does here (its Python build pack): binder/ exists, so it reads only binder/;
runtime.txt selects its frozen environment for Python 3.11 (JupyterLab, the Jupyter server,
ipykernel, ipywidgets with its extensions, nbclient...), then, from the repository root, runs
`${KERNEL_PYTHON_PREFIX}/bin/pip install --no-cache-dir -r binder/requirements.txt` in that same
environment. The venv below holds the versions of that environment's lock (R2D_STACK) on Python
3.11; the command is the same, run from this checkout's root.

PyTorch's CPU index named in the file cannot be reached from this machine: pip says so and takes
torch 2.13.0+cpu from the local wheel directory pip is configured with, the same file the index
serves. PIP_RETRIES=0 makes each unreachable lookup one failed connection instead of ~8 s of
back-off; nothing else about the command changes.

Checks: binder/requirements.txt pins what constraints.txt pins and names nothing of repo2docker's
stack; the install moves none of the packages it found; 00_start_here (both languages) and
00_explorers (both languages) run with nbclient in that environment, lossviz imports without the
setup cell saying a word, the explorers save their widget state as ipywidgets 8 does and every
control redraws its image.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import tomllib
from collections import Counter
from pathlib import Path

import nbformat
import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

from venv_cache import ROOT, cached_venv, freeze, locked, pip, read_pins

BINDER = ROOT / "binder"
REQUIREMENTS = BINDER / "requirements.txt"
TORCH_INDEX = "https://download.pytorch.org/whl/cpu"

# repo2docker's environment for Python 3.11: repo2docker/buildpacks/conda/
# environment.py-3.11-linux-64.lock (frozen 2025-11-13): its server stack and the libraries the
# kernel shares with it. The jupyterhub-singleuser, jupyterlab-myst, resource-usage and
# offlinenotebook extensions are left out: none of them touches what binder/ installs.
R2D_STACK = [
    "jupyterlab==4.4.10", "notebook==7.4.7", "jupyter_server==2.17.0", "ipykernel==7.1.0",
    "ipython==9.7.0", "ipywidgets==8.1.8", "jupyterlab_widgets==3.0.16",
    "widgetsnbextension==4.0.15", "jupyter_client==8.6.3", "traitlets==5.14.3",
    "tornado==6.5.2", "pyzmq==27.1.0", "nbclient==0.10.2", "nbformat==5.10.4", "jinja2==3.1.6",
    "packaging==25.0", "pygments==2.19.2", "typing_extensions==4.15.0",
    "python-dateutil==2.9.0.post0", "setuptools==80.9.0",
]
# Never named in binder/requirements.txt: they are repo2docker's, and shared with its server.
SERVER_SIDE = {canonicalize_name(pin.split("==")[0]) for pin in R2D_STACK} - {"ipywidgets"}
NOTEBOOKS = ["en/00_start_here.ipynb", "ko/00_start_here.ipynb",
             "en/00_explorers.ipynb", "ko/00_explorers.ipynb"]
WIDGET_STATE = "application/vnd.jupyter.widget-state+json"

# Runs in the venv's Python: each notebook on a fresh kernel in its own folder (as JupyterLab
# starts it), the explorers' control-moving cell of run_notebooks.py appended, the executed
# notebook (outputs and widget state, as nbclient stores them) written for the test to read.
RUNNER = r"""
import json, sys
from pathlib import Path
import nbformat
from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionError
sys.path.insert(0, sys.argv[1])
from run_notebooks import EXPLORE

out = Path(sys.argv[2])
errors = {}
for name in sys.argv[3:]:
    path = Path(name)
    nb = nbformat.read(path, as_version=4)
    nb.cells.append(nbformat.v4.new_code_cell(EXPLORE))
    client = NotebookClient(nb, timeout=600, kernel_name="python3",
                            resources={"metadata": {"path": str(path.parent)}})
    try:
        client.execute()
        errors[name] = None
    except CellExecutionError as error:
        errors[name] = str(error)[-4000:]
    nbformat.write(nb, out / f"{path.parent.name}_{path.name}")
(out / "errors.json").write_text(json.dumps(errors))
"""


def requirement_lines() -> list[str]:
    lines = (line.split("#", 1)[0].strip() for line in
             REQUIREMENTS.read_text(encoding="utf-8").splitlines())
    return [line for line in lines if line]


def binder_pins() -> dict[str, str]:
    pins = {}
    for line in requirement_lines():
        if line.startswith("-") or line == ".":
            continue
        req = Requirement(line)
        (spec,) = req.specifier
        assert spec.operator == "==", f"binder/requirements.txt: {line!r} is not an exact pin"
        pins[canonicalize_name(req.name)] = spec.version
    return pins


def test_binder_folder_holds_what_repo2docker_reads():
    assert not (ROOT / ".binder").exists(), "repo2docker refuses a repository with binder/ and .binder/"
    assert sorted(p.name for p in BINDER.iterdir()) == ["requirements.txt", "runtime.txt"]
    assert (BINDER / "runtime.txt").read_text(encoding="utf-8").strip() == "python-3.11"
    # environment.yml stays for conda on a laptop; repo2docker ignores it once binder/ exists.
    assert (ROOT / "environment.yml").is_file()


def test_binder_pins_are_the_tested_pins():
    pins, tested = binder_pins(), read_pins(ROOT / "constraints.txt")
    differ = {name: (version, tested.get(name)) for name, version in pins.items()
              if tested.get(name) != version}
    assert not differ, f"binder/requirements.txt and constraints.txt disagree (binder, tested): {differ}"
    core = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]["dependencies"]
    unpinned = [req for req in core if canonicalize_name(Requirement(req).name) not in pins]
    assert not unpinned, f"binder/requirements.txt leaves lossviz's dependencies unpinned: {unpinned}"


def test_binder_requirements_leave_repo2dockers_stack_alone():
    lines = requirement_lines()
    assert f"--extra-index-url {TORCH_INDEX}" in lines, "torch must come from PyTorch's CPU wheels"
    assert "." in lines, "lossviz itself (the repository root) must be installed"
    named = set(binder_pins()) & SERVER_SIDE
    assert not named, f"binder/requirements.txt would replace repo2docker's {sorted(named)}"
    assert not [line for line in lines if re.match(r"-[cr]\b|--(constraint|requirement)\b", line)], (
        "no -c/-r: constraints.txt pins the server stack too, and pip would move it")
    assert not [line for line in lines if "[" in line], "no extras: they pull in JupyterLab"


@pytest.fixture(scope="module")
def binder(tmp_path_factory):
    venv = cached_venv("binder", R2D_STACK)
    python = venv / "bin" / "python"
    env = dict(os.environ, PATH=f"{venv / 'bin'}{os.pathsep}{os.environ['PATH']}", PIP_RETRIES="0")
    env.pop("VIRTUAL_ENV", None)
    with locked("binder"):
        found = venv / "repo2docker-stack.json"  # written before the first install into this venv
        if not found.is_file():
            found.write_text(json.dumps(freeze(python)))
        # A run that moved repo2docker's packages (the failure this test exists for) must not
        # leave them moved for the next run: put them back first.
        stack, current = json.loads(found.read_text()), freeze(python)
        moved = [f"{name}=={version}" for name, version in stack.items()
                 if current.get(name) != version]
        if moved:
            pip(python, "install", "--no-deps", *moved)
        subprocess.run([str(python), "-m", "pip", "uninstall", "--yes", "lossviz"],
                       capture_output=True, check=True)
        with locked("build"):  # pip builds `.` in the tree (build/, lossviz.egg-info)
            install = subprocess.run([str(venv / "bin" / "pip"), "install", "--no-cache-dir",
                                      "-r", "binder/requirements.txt"],
                                     cwd=ROOT, env=env, capture_output=True, text=True, timeout=1800)
        assert install.returncode == 0, (f"pip install -r binder/requirements.txt failed:\n"
                                         f"{install.stdout[-3000:]}\n{install.stderr[-3000:]}")
        after = freeze(python)
    where = subprocess.run([str(python), "-c", "import lossviz; print(lossviz.__file__)"],
                           cwd=tmp_path_factory.mktemp("elsewhere"), env=env,
                           capture_output=True, text=True, timeout=300)
    work = tmp_path_factory.mktemp("binder")
    shutil.copytree(ROOT / "notebooks", work / "notebooks")  # what Binder serves: the committed ones
    out = work / "executed"
    out.mkdir()
    done = subprocess.run([str(python), "-c", RUNNER, str(ROOT / "tests"), str(out),
                           *(str(work / "notebooks" / name) for name in NOTEBOOKS)],
                          cwd=work, env=env, capture_output=True, text=True, timeout=1800)
    assert done.returncode == 0, f"the notebook runner failed:\n{done.stdout}\n{done.stderr}"
    errors = json.loads((out / "errors.json").read_text())
    executed = {name: nbformat.read(out / name.replace("/", "_"), as_version=4) for name in NOTEBOOKS}
    return {"found": json.loads(found.read_text()), "after": after, "pip": install.stdout,
            "lossviz": where, "venv": venv, "errors": {Path(k).relative_to(work / "notebooks")
                                                        .as_posix(): v for k, v in errors.items()},
            "executed": executed}


@pytest.mark.venv
def test_pip_read_the_torch_index_from_the_file(binder):
    looking = [line for line in binder["pip"].splitlines() if line.startswith("Looking in indexes")]
    assert looking and TORCH_INDEX in looking[0], f"pip did not use {TORCH_INDEX}: {looking}"


@pytest.mark.venv
def test_install_moved_nothing_repo2docker_brought(binder):
    found, after = binder["found"], binder["after"]
    for pin in R2D_STACK:
        name, version = pin.split("==")
        assert found[canonicalize_name(name)] == version, f"the stand-in stack has {name} {found}"
    moved = {name: (version, after.get(name)) for name, version in found.items()
             if after.get(name) != version}
    assert not moved, f"pip install -r binder/requirements.txt changed (before, after): {moved}"
    uninstalled = re.findall(r"Attempting uninstall: (\S+)", binder["pip"])
    assert not uninstalled, f"pip replaced {uninstalled}"


@pytest.mark.venv
def test_kernel_gets_the_pinned_libraries_and_lossviz(binder):
    after = binder["after"]
    assert after["torch"] == "2.13.0+cpu", f"torch {after['torch']}: not PyTorch's CPU build"
    for name, version in binder_pins().items():
        assert after[name].split("+")[0] == version, f"{name} {after[name]}, pinned {version}"
    where = binder["lossviz"]
    assert where.returncode == 0, where.stderr
    assert where.stdout.strip().startswith(str(binder["venv"])), (
        f"lossviz imports from {where.stdout.strip()}, not from the environment's site-packages")


@pytest.mark.venv
@pytest.mark.parametrize("notebook", NOTEBOOKS)
def test_notebook_runs_on_binder(binder, notebook):
    error = binder["errors"][notebook]
    assert error is None, f"{notebook} failed in the Binder environment:\n{error}"
    cells = [cell for cell in binder["executed"][notebook].cells if cell.cell_type == "code"]
    streams = [out for cell in cells for out in cell.get("outputs", []) if out.output_type == "stream"]
    stderr = [out.text for out in streams if out.name == "stderr"]
    assert not stderr, f"{notebook} wrote to stderr: {stderr}"
    setup = next(cell for cell in cells if cell.get("id") == "lossviz-setup")
    assert not setup.outputs, f"lossviz is installed, yet the setup cell printed {setup.outputs}"


@pytest.mark.venv
@pytest.mark.parametrize("notebook", [name for name in NOTEBOOKS if "explorers" in name])
def test_explorers_save_their_state_and_redraw(binder, notebook):
    executed = binder["executed"][notebook]
    state = executed.metadata.get("widgets", {}).get(WIDGET_STATE, {}).get("state", {})
    kinds = Counter((m["model_module"], m["model_module_version"], m["model_name"])
                    for m in state.values())
    committed = nbformat.read(ROOT / "notebooks" / notebook, as_version=4)
    saved = committed.metadata["widgets"][WIDGET_STATE]["state"]
    expected = {(m["model_module"], m["model_module_version"], m["model_name"]) for m in saved.values()}
    assert expected <= set(kinds), f"{notebook}: widgets missing from the saved state: {expected - set(kinds)}"
    assert {version for _, version, _ in kinds} == {"2.0.0"}, f"not ipywidgets 8's state: {kinds}"
    cells = [cell for cell in executed.cells if cell.cell_type == "code"]
    report = [out.text for out in cells[-1].get("outputs", []) if out.get("name") == "stdout"]
    explored = json.loads("".join(report).removeprefix("EXPLORED "))
    classes = {key.split(":")[1].split(".")[0] for key in explored}
    assert len(classes) == 5, f"{notebook}: expected the five explorers, found {classes}"
    still = [control for control, changed in explored.items() if not changed]
    assert not still, f"{notebook}: moving these controls left the image as it was: {still}"
