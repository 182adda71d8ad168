"""`python -m build` makes an sdist and, from it, a wheel that holds the whole package and says
what it needs. The Colab-like stage (tests/test_colab_stage.py) installs this wheel into a fresh
venv and runs notebooks with it; the JupyterHub test installs from a clone.
"""

from __future__ import annotations

import email
import tarfile
import zipfile
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.specifiers import SpecifierSet

from venv_cache import ROOT, build_wheel

pytestmark = pytest.mark.venv


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    outdir = tmp_path_factory.mktemp("dist")
    wheel = build_wheel(outdir)
    sdists = sorted(outdir.glob("lossviz-*.tar.gz"))
    assert len(sdists) == 1, f"python -m build made {sdists}"
    with zipfile.ZipFile(wheel) as archive:
        names = archive.namelist()
        meta_name = next(n for n in names if n.endswith(".dist-info/METADATA"))
        metadata = email.message_from_bytes(archive.read(meta_name))
    return {"wheel": names, "metadata": metadata, "sdist": sdists[0]}


def test_wheel_holds_every_module_of_the_package(built):
    modules = sorted(p.relative_to(ROOT).as_posix() for p in (ROOT / "lossviz").rglob("*")
                     if p.is_file() and "__pycache__" not in p.parts and p.suffix != ".pyc")
    missing = [m for m in modules if m not in built["wheel"]]
    assert not missing, f"the wheel lacks {missing}"
    strays = [n for n in built["wheel"] if not n.startswith(("lossviz/", "lossviz-"))]
    assert not strays, f"the wheel carries files outside the package: {strays}"


def test_sdist_builds_the_same_package(built):
    with tarfile.open(built["sdist"]) as archive:
        names = {name.split("/", 1)[1] for name in archive.getnames() if "/" in name}
    for module in ("lossviz/__init__.py", "lossviz/i18n.py", "lossviz/widgets/__init__.py"):
        assert module in names, f"the sdist lacks {module}"


def test_metadata_says_what_the_package_needs(built):
    metadata = built["metadata"]
    assert SpecifierSet(metadata["Requires-Python"]) == SpecifierSet(">=3.11")
    requires = {Requirement(line).name.lower(): Requirement(line)
                for line in metadata.get_all("Requires-Dist") if "extra ==" not in line}
    # Hangul in figures: the NanumGothic files come from this dependency, not from the wheel.
    assert "koreanize-matplotlib" in requires
    assert not [n for n in built["wheel"] if n.endswith((".ttf", ".otf"))]
    # Colab's versions are accepted, so pip installs lossviz beside them without moving them.
    for name, colab in {"ipywidgets": "7.7.1", "matplotlib": "3.10.0", "numpy": "2.1.3",
                        "torch": "2.11.0"}.items():
        assert requires[name].specifier.contains(colab), f"{requires[name]} refuses Colab's {colab}"
    assert requires["ipywidgets"].specifier.contains("8.1.8")
    urls = dict(line.split(", ", 1) for line in metadata.get_all("Project-URL"))
    assert urls["Repository"].startswith("https://github.com/"), urls
