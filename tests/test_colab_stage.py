"""Colab, as near as this machine gets: a venv with Colab's versions (constraints-colab.txt:
ipywidgets 7.7.1, ipykernel 6.17.1, IPython 7.34, matplotlib 3.10.0, NumPy 2.1.3...; Python 3.11 and
the local torch 2.13.0 instead of Colab's 3.12+/2.11), lossviz installed by the notebooks' own
setup cell exactly as on Colab (`google.colab` present, via a sitecustomize; the install spec is
the wheel `python -m build` makes, through LOSSVIZ_INSTALL_SPEC, in place of the git URL).

The kernels' working folder holds a folder named lossviz (a clone, as older instructions left in
/content), which Python finds first as an empty namespace package.

Checks: the setup cell installs lossviz with one line of output and no restart, past that folder;
pip moved none of Colab's packages; 00_start_here, 00_explorers and 02 run in both languages with no warning on
stderr; every control of every explorer they show changes its image when moved.

The notebooks are copies with tools/notebook_headers.py applied, so this checks the setup cell the
tool writes (tests/test_notebook_headers.py checks that the committed notebooks carry it).
"""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest

from venv_cache import ROOT, build_wheel, cached_venv, copy_with_headers, freeze, pip

pytestmark = pytest.mark.venv

NOTEBOOKS = ["00_start_here", "00_explorers", "02_where_sigmoid_bce_breaks"]
FAKE_COLAB = (
    "import sys, types\n"
    "sys.modules.setdefault('google', types.ModuleType('google'))\n"
    "sys.modules['google.colab'] = types.ModuleType('google.colab')\n"
)
INSTALL_MESSAGE = {"en": "Installing lossviz into this Colab session",
                   "ko": "이 Colab 세션에 lossviz를 설치하는 중입니다"}


@pytest.fixture(scope="module")
def colab(tmp_path_factory):
    python = cached_venv("colab", ["-r", "constraints-colab.txt"]) / "bin" / "python"
    # A new Colab session: lossviz is not there until the setup cell installs it.
    pip(python, "uninstall", "--yes", "lossviz", "koreanize-matplotlib")
    before = freeze(python)
    work = tmp_path_factory.mktemp("colab")
    wheel = build_wheel(work / "dist")
    notebooks = copy_with_headers(work)
    for lang in ("en", "ko"):
        # A clone named lossviz in the working folder, as older instructions left in /content:
        # the first `import lossviz` finds it as an empty namespace package.
        (notebooks / lang / "lossviz").mkdir()
    (work / "site").mkdir()
    (work / "site" / "sitecustomize.py").write_text(FAKE_COLAB)
    env = dict(os.environ, PYTHONPATH=str(work / "site"), LOSSVIZ_INSTALL_SPEC=str(wheel))
    env.pop("VIRTUAL_ENV", None)
    paths = [notebooks / lang / f"{stem}.ipynb" for stem in NOTEBOOKS for lang in ("en", "ko")]
    out = work / "result.json"
    done = subprocess.run([str(python), str(ROOT / "tests" / "run_notebooks.py"), str(out),
                           "--explore", *map(str, paths)],
                          env=env, capture_output=True, text=True, timeout=1800)
    assert done.returncode == 0, f"run_notebooks.py failed:\n{done.stdout}\n{done.stderr}"
    results = {Path(path).relative_to(notebooks).as_posix(): value
               for path, value in json.loads(out.read_text(encoding="utf-8")).items()}
    return {"before": before, "after": freeze(python), "results": results}


def test_setup_cell_installs_lossviz_once_with_one_line(colab):
    setups = {path: result["setup"] for path, result in colab["results"].items()}
    assert all(setup is not None for setup in setups.values()), f"no setup cell ran: {setups}"
    first = next(iter(setups))  # en/00_start_here: a new session, lossviz not installed yet
    text = setups[first]["text"]
    assert text.startswith(INSTALL_MESSAGE["en"]) and text.count("\n") == 1, (
        f"{first}: the setup cell should print one line while it installs, printed {text!r}")
    print(f"\nColab setup cell: {setups[first]['seconds']} s to install lossviz")
    for path, setup in list(setups.items())[1:]:
        assert setup["text"] == "", f"{path}: lossviz is installed, yet the setup cell printed {setup}"


def test_pip_moved_none_of_colabs_packages(colab):
    before, after = colab["before"], colab["after"]
    moved = {name: (version, after.get(name)) for name, version in before.items()
             if after.get(name) != version}
    assert not moved, f"installing lossviz changed Colab's packages (before, after): {moved}"
    added = sorted(set(after) - set(before))
    assert added == ["koreanize-matplotlib", "lossviz"], f"installing lossviz added {added}"


@pytest.mark.parametrize("notebook", [f"{lang}/{stem}.ipynb" for stem in NOTEBOOKS
                                      for lang in ("en", "ko")])
def test_notebook_runs_with_colabs_versions(colab, notebook):
    result = colab["results"][notebook]
    assert result["error"] is None, f"{notebook} failed with Colab's versions:\n{result['error']}"
    assert not result["stderr"], f"{notebook} wrote to stderr: {result['stderr']}"


@pytest.mark.parametrize("notebook", [f"{lang}/{stem}.ipynb" for stem in NOTEBOOKS
                                      for lang in ("en", "ko")])
def test_every_explorer_control_redraws_with_ipywidgets_7(colab, notebook):
    result = colab["results"][notebook]
    assert result["error"] is None, f"{notebook} did not run: {result['error'][-800:]}"
    explored = result["explored"]
    assert explored is not None, f"{notebook}: the control-moving cell did not report"
    if "00_start_here" not in notebook:  # the start page may show no explorer
        assert explored, f"{notebook}: no explorer found"
    if "00_explorers" in notebook:
        classes = {key.split(":")[1].split(".")[0] for key in explored}
        assert len(classes) == 5, f"{notebook}: expected the five explorers, found {classes}"
    still = [control for control, changed in explored.items() if not changed]
    assert not still, f"{notebook}: moving these controls left the image as it was: {still}"
