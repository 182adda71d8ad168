"""pyproject.toml, constraints.txt, environment.yml, README and CI tell the same story.

The ranges in pyproject.toml, the tested pins in constraints.txt and what is installed here must
agree, or "it passed the tests" says nothing about what a reader installs.
"""

from __future__ import annotations

import re
import sys
import tomllib
from importlib import metadata
from pathlib import Path

import pytest
import yaml
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name
from packaging.version import Version

from venv_cache import read_pins

ROOT = Path(__file__).resolve().parent.parent
TORCH_PIN = "2.13.0"


def constraint_lines() -> list[tuple[str, str]]:
    """(name as written, version) for each `name==version` line of constraints.txt."""
    pins = []
    for raw in (ROOT / "constraints.txt").read_text(encoding="utf-8").splitlines():
        line = raw.split("#", 1)[0].strip()
        if not line:
            continue
        match = re.fullmatch(r"([A-Za-z0-9._-]+)\s*==\s*([^\s;]+)", line)
        assert match, f"constraints.txt: {raw!r} is not a `name==version` pin"
        pins.append((match[1], match[2]))
    return pins


def pins() -> dict[str, str]:
    return {canonicalize_name(name): version for name, version in constraint_lines()}


def core_requirements() -> list[str]:
    return tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]["dependencies"]


def project_requirements() -> list[Requirement]:
    """Core dependencies and the `notebooks` and `test` extras of pyproject.toml."""
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    extras = project.get("optional-dependencies", {})
    lines = project["dependencies"] + extras["notebooks"] + extras["test"]
    return [Requirement(line) for line in lines]


def environment() -> dict:
    return yaml.safe_load((ROOT / "environment.yml").read_text(encoding="utf-8"))


def pip_section(env: dict) -> list[str]:
    sections = [d["pip"] for d in env["dependencies"] if isinstance(d, dict) and "pip" in d]
    assert len(sections) == 1, "environment.yml: expected exactly one `pip:` section"
    return [" ".join(str(item).split()) for item in sections[0]]


def test_environment_yml_pins_python_311():
    deps = environment()["dependencies"]
    pythons = [d for d in deps if isinstance(d, str) and re.match(r"python\b", d)]
    assert pythons == ["python=3.11"], f"environment.yml: python entries {pythons}, want python=3.11"
    assert "pip" in deps, "environment.yml must install pip for its pip: section"


@pytest.mark.skipif(sys.version_info[:2] != (3, 11),
                    reason=f"CI runs Python 3.11; this is {sys.version.split()[0]}")
def test_running_python_is_311():
    assert sys.version_info[:2] == (3, 11)


def test_environment_yml_installs_package_with_constraints():
    env = environment()
    assert env.get("name") == "lossviz"
    assert "conda-forge" in env.get("channels", [])
    pip = pip_section(env)
    assert "-c constraints.txt" in pip, f"environment.yml pip section {pip} lacks -c constraints.txt"
    assert "-e ." in pip, f"environment.yml pip section {pip} lacks -e ."
    assert any(
        line.startswith("--extra-index-url https://download.pytorch.org/whl/cpu") for line in pip
    ), "environment.yml should offer PyTorch's CPU wheels (a ~190 MB torch, not the multi-GB CUDA build)"


# repo2docker's own; ipykernel and jupyter-client share tornado and pyzmq with the server.
SERVER_STACK = {"jupyterlab", "notebook", "jupyter-server", "jupyterlab-server", "nbclassic",
                "ipykernel", "jupyter-client", "tornado", "pyzmq"}


def test_environment_yml_leaves_the_server_alone():
    """environment.yml installs the kernel's side into a conda env that may already hold a Jupyter
    server (Binder reads binder/ instead: tests/test_binder.py)."""
    pip = pip_section(environment())
    named = {canonicalize_name(Requirement(line).name) for line in pip
             if not line.startswith("-")}
    assert not named & SERVER_STACK, f"environment.yml installs server packages: {named & SERVER_STACK}"
    assert not [line for line in pip if "[" in line], f"no extras (they pull in JupyterLab): {pip}"
    conda = {canonicalize_name(re.split(r"[=<>]", d)[0]) for d in environment()["dependencies"]
             if isinstance(d, str)}
    assert not conda & SERVER_STACK, f"environment.yml installs server packages: {conda & SERVER_STACK}"


def test_package_accepts_colabs_versions():
    """pip installs lossviz on Colab without moving Colab's packages only if every range admits them."""
    colab = read_pins(ROOT / "constraints-colab.txt")
    for name in ("ipywidgets", "matplotlib", "numpy", "torch", "pyparsing"):
        assert name in colab, f"constraints-colab.txt should pin {name}"
    core = [Requirement(line) for line in core_requirements()]
    for req in core:
        version = colab.get(canonicalize_name(req.name))
        if version is not None:
            assert req.specifier.contains(version), f"{req} refuses Colab's {req.name}=={version}"
    ipywidgets = next(req for req in core if req.name == "ipywidgets")
    for version in ("7.6.0", "7.7.1", "8.1.8"):
        assert ipywidgets.specifier.contains(version), f"{ipywidgets} refuses ipywidgets {version}"


def test_requires_python_matches_what_make_accepts():
    """requires-python, the Pythons tools/make_venv.sh accepts and the tests' own imports agree."""
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    assert project["requires-python"] == ">=3.11"
    script = (ROOT / "tools" / "make_venv.sh").read_text(encoding="utf-8")
    assert "(3, 11) <= sys.version_info[:2] <= (3, 13)" in script


def test_constraints_have_no_duplicates():
    seen: dict[str, str] = {}
    duplicates = []
    for name, _ in constraint_lines():
        key = canonicalize_name(name)
        if key in seen:
            duplicates.append(f"{seen[key]} / {name}")
        seen[key] = name
    assert not duplicates, f"constraints.txt pins these twice: {duplicates}"


def test_torch_is_pinned_exactly():
    assert pins().get("torch") == TORCH_PIN, f"constraints.txt must pin torch=={TORCH_PIN}"


@pytest.mark.parametrize("req", project_requirements(), ids=str)
def test_dependency_is_pinned_within_its_range(req):
    version = pins().get(canonicalize_name(req.name))
    assert version is not None, f"{req.name} (pyproject.toml) has no pin in constraints.txt"
    assert req.specifier.contains(version, prereleases=True), (
        f"constraints.txt pins {req.name}=={version}, outside pyproject.toml's {req}"
    )


@pytest.mark.parametrize("req", project_requirements(), ids=str)
def test_installed_version_is_the_pin(req):
    pinned = pins().get(canonicalize_name(req.name))
    if pinned is None:
        pytest.fail(f"{req.name} has no pin in constraints.txt")
    try:
        installed = metadata.version(req.name)
    except metadata.PackageNotFoundError:
        pytest.fail(f"{req.name} is not installed (run `make setup`)")
    got = Version(installed)
    if canonicalize_name(req.name) == "torch":
        got = Version(got.public)  # the CPU wheel is 2.13.0+cpu
    assert got == Version(pinned), (
        f"{req.name} {installed} is installed, constraints.txt pins {pinned} "
        f"(reinstall with `make setup`, or update constraints.txt)"
    )


def make_target_exists(target: str) -> bool:
    makefile = (ROOT / "Makefile").read_text(encoding="utf-8")
    return re.search(rf"^{re.escape(target)}\s*:", makefile, flags=re.M) is not None


def test_readme_gives_the_test_command():
    readme = ROOT / "README.md"
    if not readme.is_file():
        pytest.skip("README.md is not written yet")
    assert make_target_exists("test"), "the Makefile has no `test` target"
    assert "make test" in readme.read_text(encoding="utf-8"), "README.md should say `make test`"


def test_ci_runs_the_test_command():
    script = (ROOT / ".ci" / "run").read_text(encoding="utf-8")
    assert re.search(r"^\s*make test\b", script, flags=re.M), ".ci/run should run `make test`"
