"""The README's VS Code path: `make setup` makes `.venv`, VS Code starts that Python as the kernel
(`python -m ipykernel_launcher -f CONNECTION_FILE`, what "Select Kernel -> Python Environments"
runs) and renders the explorers' widget messages with its own ipywidgets 8 renderer.

VS Code itself cannot run here. What it is given can: `make test` runs in the `.venv` that
`make setup` made, so this test checks that environment holds the ipywidgets VS Code renders
(8.1.8; 8.1.9 renders nothing, microsoft/vscode-jupyter#17504) and that a kernel started the way
VS Code starts one sends an explorer as an ipywidgets 8 view whose model carries its PNG.
"""
import sys
from importlib.metadata import version
from pathlib import Path

from jupyter_client.manager import start_new_kernel

RENDERED_BY_VSCODE = "8.1.8"


def test_make_setup_environment_holds_the_ipywidgets_vscode_renders():
    assert version("ipywidgets") == RENDERED_BY_VSCODE, (
        f"{sys.prefix} has ipywidgets {version('ipywidgets')}; VS Code renders {RENDERED_BY_VSCODE}")
    constraints = (Path(__file__).parents[1] / "constraints.txt").read_text(encoding="utf-8")
    assert f"ipywidgets=={RENDERED_BY_VSCODE}" in constraints.split()


def test_kernel_started_as_vscode_does_sends_every_explorer_as_a_widget_view():
    manager, client = start_new_kernel(kernel_name="python3")
    try:
        assert manager.kernel_spec.argv[1:3] == ["-m", "ipykernel_launcher"]
        client.execute_interactive("import lossviz\nfrom lossviz.widgets import EXPLORERS", timeout=120)
        for name in ("overflow_explorer", "precision_explorer", "softmax_explorer",
                     "label_smoothing_explorer", "pos_weight_explorer"):
            messages = []
            client.execute_interactive(f"EXPLORERS[{name!r}]('en')", output_hook=messages.append,
                                       timeout=120)
            comms = [m for m in messages if m["msg_type"] == "comm_open"]
            views = [m["content"]["data"]["application/vnd.jupyter.widget-view+json"] for m in messages
                     if m["msg_type"] in ("display_data", "execute_result")
                     and "application/vnd.jupyter.widget-view+json" in m["content"]["data"]]
            assert len(views) == 1 and views[0]["version_major"] == 2, (name, [m["msg_type"] for m in messages])
            states = {c["content"]["comm_id"]: c["content"]["data"]["state"] for c in comms}
            assert views[0]["model_id"] in states, name
            images = [state for state in states.values() if state.get("_model_name") == "ImageModel"]
            assert len(images) == 1 and images[0]["_model_module_version"] == "2.0.0", name
            assert images[0]["format"] == "png", name
    finally:
        client.stop_channels()
        manager.shutdown_kernel(now=True)
