# @title Setup: installs lossviz on Colab (once a session), checks for it elsewhere
import importlib, os, subprocess, sys

REPOSITORY = "@REPOSITORY@"
LOSSVIZ_SPEC = os.environ.get("LOSSVIZ_INSTALL_SPEC", f"lossviz @ git+{REPOSITORY}")
NOT_INSTALLED = [
    "lossviz is not installed in this kernel, so this notebook cannot run yet.",
    "On your computer: in the repository folder run `make lab` (see README.md).",
    "In another Jupyter (a JupyterHub): run this in a cell, then restart the kernel:",
    f'    %pip install "{LOSSVIZ_SPEC}"',
    "Installed this way (not with pip install -e), the package is found even where",
    "a folder named lossviz (a clone, say) sits beside the notebook.",
]


def lossviz_installed():
    try:
        import lossviz
    except ImportError:
        return False
    return lossviz.__file__ is not None  # None: a folder named lossviz, not the package


class LossvizNotInstalled(Exception):
    def _render_traceback_(self):
        return NOT_INSTALLED


if not lossviz_installed():
    if "google.colab" not in sys.modules:
        raise LossvizNotInstalled() from None
    print("Installing lossviz into this Colab session (under a minute)...")
    pip = subprocess.run([sys.executable, "-m", "pip", "install", "-q", LOSSVIZ_SPEC],
                         capture_output=True, text=True)
    if pip.returncode != 0:
        print(pip.stdout[-3000:], pip.stderr[-3000:], sep="\n")
        raise RuntimeError("pip could not install lossviz: its messages are above.")
    for name in [name for name in sys.modules if name.split(".")[0] == "lossviz"]:
        del sys.modules[name]  # a namespace package left by a folder named lossviz
    importlib.invalidate_caches()
    if not lossviz_installed():
        raise LossvizNotInstalled() from None
