"""On Colab or any Jupyter without lossviz, each notebook's first cell must stop with a clear
message in the notebook's language (how to install), not a bare ImportError traceback.

The first code cell of every notebook runs in a real kernel in which `import lossviz` fails.
"""
import re
import sys
import textwrap
from pathlib import Path

import nbformat
import pytest
from jupyter_client.manager import start_new_kernel

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOKS = sorted((ROOT / "notebooks").glob("*/*.ipynb"))
HANGUL = re.compile("[가-힣]")

# Installed at kernel start through sitecustomize: any import of lossviz fails as on Colab.
BLOCKER = textwrap.dedent("""
    import importlib.abc, sys
    class _NoLossviz(importlib.abc.MetaPathFinder):
        def find_spec(self, name, path=None, target=None):
            if name == "lossviz" or name.startswith("lossviz."):
                raise ModuleNotFoundError("No module named 'lossviz'", name="lossviz")
            return None
    sys.meta_path.insert(0, _NoLossviz())
""")


@pytest.fixture(scope="module")
def kernel_without_lossviz(tmp_path_factory):
    folder = tmp_path_factory.mktemp("no_lossviz")
    (folder / "sitecustomize.py").write_text(BLOCKER)
    env = {"PYTHONPATH": str(folder), "PATH": str(Path(sys.executable).parent), "HOME": str(folder)}
    manager, client = start_new_kernel(kernel_name="python3", env=env, startup_timeout=60)
    yield client
    client.stop_channels()
    manager.shutdown_kernel(now=True)


def run(client, code):
    errors, streams = [], []

    def collect(message):
        if message["msg_type"] == "error":
            errors.append(message["content"])
        elif message["msg_type"] == "stream":
            streams.append(message["content"]["text"])

    reply = client.execute_interactive(code, output_hook=collect, timeout=60)
    return reply["content"]["status"], errors, "".join(streams)


@pytest.mark.skipif(not NOTEBOOKS, reason="no notebooks yet")
def test_every_first_cell_explains_how_to_install(kernel_without_lossviz):
    assert run(kernel_without_lossviz, "import lossviz")[0] == "error"  # the blocker works
    for path in NOTEBOOKS:
        notebook = nbformat.read(path, as_version=4)
        first = next(cell for cell in notebook.cells if cell.cell_type == "code")
        status, errors, _ = run(kernel_without_lossviz, first.source)
        assert status == "error" and len(errors) == 1, f"{path}: the first cell must stop the notebook"
        shown = "\n".join(errors[0]["traceback"])
        assert "pip install" in shown and "make lab" in shown, f"{path}: no install instructions:\n{shown}"
        assert "Traceback" not in shown and "ModuleNotFoundError" not in shown, f"{path}: a raw traceback:\n{shown}"
        in_korean = bool(HANGUL.search(shown))
        assert in_korean == (path.parent.name == "ko"), f"{path}: the message is not in the notebook's language"
