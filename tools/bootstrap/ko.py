# @title 준비: Colab에서는 lossviz를 설치하고(세션마다 한 번), 다른 곳에서는 설치를 확인합니다
import importlib, os, subprocess, sys

REPOSITORY = "@REPOSITORY@"
LOSSVIZ_SPEC = os.environ.get("LOSSVIZ_INSTALL_SPEC", f"lossviz @ git+{REPOSITORY}")
NOT_INSTALLED = [
    "이 커널에 lossviz가 설치되어 있지 않아 노트북을 실행할 수 없습니다.",
    "내 컴퓨터: 저장소 폴더에서 `make lab`을 실행하세요 (README.md 참고).",
    "다른 Jupyter(JupyterHub 등): 셀에서 아래 줄을 실행한 뒤 커널을 다시 시작하세요.",
    f'    %pip install "{LOSSVIZ_SPEC}"',
    "이렇게 설치하면(pip install -e가 아니라) 노트북 옆에 lossviz라는 폴더(복제한",
    "저장소 등)가 있어도 설치된 패키지를 찾습니다.",
]


def lossviz_installed():
    try:
        import lossviz
    except ImportError:
        return False
    return lossviz.__file__ is not None  # None: 패키지가 아니라 lossviz라는 이름의 폴더


class LossvizNotInstalled(Exception):
    def _render_traceback_(self):
        return NOT_INSTALLED


if not lossviz_installed():
    if "google.colab" not in sys.modules:
        raise LossvizNotInstalled() from None
    print("이 Colab 세션에 lossviz를 설치하는 중입니다(1분이 채 걸리지 않습니다)...")
    pip = subprocess.run([sys.executable, "-m", "pip", "install", "-q", LOSSVIZ_SPEC],
                         capture_output=True, text=True)
    if pip.returncode != 0:
        print(pip.stdout[-3000:], pip.stderr[-3000:], sep="\n")
        raise RuntimeError("pip이 lossviz를 설치하지 못했습니다. 메시지는 위에 있습니다.")
    for name in [name for name in sys.modules if name.split(".")[0] == "lossviz"]:
        del sys.modules[name]  # lossviz 폴더가 남긴 네임스페이스 패키지(namespace package)
    importlib.invalidate_caches()
    if not lossviz_installed():
        raise LossvizNotInstalled() from None
