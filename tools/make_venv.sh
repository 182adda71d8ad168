#!/bin/sh
# Create the virtual environment VENV with a Python that lossviz supports (3.11, 3.12 or 3.13):
# PYTHON when given (a name on PATH or a path), else the first of python3.11, python3.12,
# python3.13 that runs. A name found on PATH may still not run (a pyenv shim of a version that
# is not selected), so each one is tried, not just looked up.
#   tools/make_venv.sh VENV [PYTHON]
set -eu
venv=$1
wanted=${2:-}
supported="3.11, 3.12 or 3.13"
check='import sys; sys.exit(not (3, 11) <= sys.version_info[:2] <= (3, 13))'

fail() {
    echo "lossviz: $1" >&2
    echo "  lossviz runs on Python $supported (the tested pins hold on all three)." >&2
    echo "  Install one (Ubuntu/WSL: sudo apt install python3.12-venv; macOS: brew install" >&2
    echo "  python@3.12), or choose one by name or path: make lab PYTHON=python3.12" >&2
    echo "  (make lab PYTHON=/usr/bin/python3.12, or the python of a conda environment)." >&2
    exit 1
}

if [ -n "$wanted" ]; then
    version=$("$wanted" -c 'import sys; print("%d.%d" % sys.version_info[:2])' 2>/dev/null) ||
        fail "PYTHON=$wanted does not run."
    "$wanted" -c "$check" || fail "PYTHON=$wanted is Python $version."
    python=$wanted
else
    python=
    for candidate in python3.11 python3.12 python3.13; do
        if "$candidate" -c "$check" >/dev/null 2>&1; then
            python=$candidate
            break
        fi
    done
    [ -n "$python" ] || fail "none of python3.11, python3.12, python3.13 runs here."
fi

echo "lossviz: creating $venv with $python ($("$python" -c 'import sys; print(sys.version.split()[0])'))"
"$python" -m venv "$venv" ||
    fail "$python could not create a virtual environment (Debian/Ubuntu: apt install python3.X-venv)."
