"""A Jupyter server extension for `make lab` (tools/lab.py) and the browser tests: TCP_NODELAY on
the kernel websockets, so a widget update reaches the browser at once.

Without it, the server's websocket (tornado's default) runs Nagle's algorithm: after the kernel's
small "busy" message, the next small message waits for the browser's acknowledgement, which
browsers delay by up to 40 ms. Measured here with a slider swapping two precomputed frames (key
press to decoded image in JupyterLab + Chromium): median 61 ms without, 36 ms with it; the 40 ms
wait between "busy" and the update disappears (benchmarks/browser_latency.py). Tornado documents
set_nodelay(True) for exactly this case. It changes only this server process, started by this
repository; a JupyterHub's or Binder's server is left as it is.

Enabled with ``--ServerApp.jpserver_extensions=jupyter_nodelay=True`` and ``tools/`` on PYTHONPATH.
"""
from __future__ import annotations


def _jupyter_server_extension_points():
    return [{"module": "jupyter_nodelay"}]


def _load_jupyter_server_extension(serverapp) -> None:
    from jupyter_server.services.kernels.websocket import KernelWebsocketHandler

    if getattr(KernelWebsocketHandler.open, "__lossviz_nodelay__", False):
        return
    original_open = KernelWebsocketHandler.open

    async def open(self, *args, **kwargs):  # noqa: A001 (the handler's own method name)
        self.set_nodelay(True)
        return await original_open(self, *args, **kwargs)

    open.__lossviz_nodelay__ = True
    KernelWebsocketHandler.open = open
    serverapp.log.info("lossviz: TCP_NODELAY on kernel websockets (tools/jupyter_nodelay.py)")
