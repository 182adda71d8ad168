"""Each notebook's setup cell (tools/bootstrap/{en,ko}.py, written into every notebook by
tools/notebook_headers.py) outside Colab: silent where lossviz is installed, and a clear message in
the notebook's language (how to install, no traceback) where it is missing or where only a folder
named lossviz is found (a namespace package: `lossviz.__file__ is None`, the clone-folder case).

The cells run in real kernels: one where any import of lossviz fails, one where `lossviz` resolves
to an empty namespace package, as a folder named lossviz on sys.path makes it, and this one. On
Colab the same cell installs lossviz: tests/test_colab_stage.py runs that path.
"""
import re
import sys
import textwrap
from pathlib import Path

import pytest
from jupyter_client.manager import start_new_kernel

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tools"))
import notebook_headers  # noqa: E402

URL = notebook_headers.repository_url(ROOT)
SETUP = {lang: notebook_headers.setup_source(ROOT, lang, URL) for lang in notebook_headers.LANGUAGES}
HANGUL = re.compile("[가-힣]")

# Installed at kernel start through sitecustomize: any import of lossviz fails.
MISSING = textwrap.dedent("""
    import importlib.abc, sys
    class _NoLossviz(importlib.abc.MetaPathFinder):
        def find_spec(self, name, path=None, target=None):
            if name == "lossviz" or name.startswith("lossviz."):
                raise ModuleNotFoundError(f"No module named {name!r}", name=name)
            return None
    sys.meta_path.insert(0, _NoLossviz())
""")

# `import lossviz` finds a folder without __init__.py first: Python makes it a namespace package
# (no __file__, no attributes), exactly as a clone named lossviz in the working folder does when
# the package itself is missing or installed in editable mode behind it.
SHADOWED = textwrap.dedent("""
    import importlib.abc, importlib.machinery, os, sys
    _FOLDER = os.path.join(os.path.dirname(__file__), "lossviz")
    class _CloneFolder(importlib.abc.MetaPathFinder):
        def find_spec(self, name, path=None, target=None):
            if name == "lossviz":
                spec = importlib.machinery.ModuleSpec("lossviz", None, is_package=True)
                spec.submodule_search_locations = [_FOLDER]
                return spec
            if name.startswith("lossviz."):
                raise ModuleNotFoundError(f"No module named {name!r}", name=name)
            return None
    sys.meta_path.insert(0, _CloneFolder())
""")


def kernel(folder: Path, sitecustomize: str | None):
    env = {"PATH": str(Path(sys.executable).parent), "HOME": str(folder)}
    if sitecustomize is not None:
        (folder / "sitecustomize.py").write_text(sitecustomize)
        (folder / "lossviz").mkdir()
        env["PYTHONPATH"] = str(folder)
    return start_new_kernel(kernel_name="python3", env=env, startup_timeout=60)


@pytest.fixture(scope="module", params=["missing", "shadowed", "installed"])
def situation(request, tmp_path_factory):
    folder = tmp_path_factory.mktemp(request.param)
    manager, client = kernel(folder, {"missing": MISSING, "shadowed": SHADOWED,
                                      "installed": None}[request.param])
    yield request.param, client
    client.stop_channels()
    manager.shutdown_kernel(now=True)


def run(client, code):
    errors, shown = [], []

    def collect(message):
        if message["msg_type"] == "error":
            errors.append(message["content"])
        elif message["msg_type"] in ("stream", "display_data", "execute_result"):
            shown.append(message["content"])

    reply = client.execute_interactive(code, output_hook=collect, timeout=60)
    return reply["content"]["status"], errors, shown


@pytest.mark.parametrize("lang", sorted(SETUP))
def test_setup_cell(situation, lang):
    name, client = situation
    if name == "installed":
        status, errors, shown = run(client, SETUP[lang])
        assert status == "ok" and not errors and not shown, (
            f"{lang}: with lossviz installed the setup cell must run silently (nbval compares "
            f"outputs), got {errors or shown}")
        return
    # The blocker works: lossviz is missing, or only the empty namespace package is found.
    probe = "import lossviz; assert lossviz.__file__ is not None"
    assert run(client, probe)[0] == "error"

    status, errors, shown = run(client, SETUP[lang])
    assert status == "error" and len(errors) == 1 and not shown, f"{lang}/{name}: must stop, quietly"
    message = "\n".join(errors[0]["traceback"])
    assert "make lab" in message, f"{lang}/{name}: no local instructions:\n{message}"
    assert f'%pip install "lossviz @ git+{URL}"' in message, f"{lang}/{name}:\n{message}"
    assert "pip install -e" in message, f"{lang}/{name}: the clone-folder case is not explained"
    assert "Traceback" not in message and "Error" not in message, f"{lang}/{name}: a raw traceback:\n{message}"
    assert bool(HANGUL.search(message)) == (lang == "ko"), f"{lang}/{name}: not in the notebook's language"

