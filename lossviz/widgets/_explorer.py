"""What every explorer shares: controls -> compute -> artists updated in place -> a frame in an Image.

A subclass names its controls, builds its figure once, computes its data from the setting values
(vectorised torch) and moves its artists. Everything else is here: the update cycle, typed boxes
paired with sliders, the message line that replaces a traceback, and the display bundle (live
widget, a 2x PNG, stable text) for ipywidgets 8 and 7 alike.

What is drawn is what was asked. A number typed into a box is drawn exactly, and the box is the
slider's readout: a slider only lands on its step grid, so its value snaps (19 becomes 10^1.3 =
19.95 on a log slider in the browser) and must never overwrite a typed value. A slider report
within half a step of the drawn value is that snap, not a move, and is ignored. A rejected entry
shows why, in the explorer's language, and the box goes back to the value drawn.

An update costs what changed, not the figure (see _frames.py): compute on one torch thread, move
the artists, paste the cached background, draw only what moved, encode a palette frame. A setting
seen before is sent again from the last 48 frames kept (a drag goes back and forth), and after a
slider moved in the browser the settings one step either side are drawn ahead while the kernel is
idle (see _prefetch.py). Browser changes that arrive while the kernel is still catching up join
one later draw of the latest value (see _pacing.py), so a fast drag never queues stale frames.
The frame goes out before the controls' own updates: it is what the student waits for, and a
slider's box follows a move in the browser a moment later (READOUT_DELAY_S).
"""
from __future__ import annotations

import base64
import collections
import contextlib
import math
import time

import ipywidgets
import torch
import traitlets

from .. import i18n
from .. import plots
from ._frames import Frames
from ._pacing import Pacer, from_browser, running_loop
from ._prefetch import Prefetcher, neighbours, slider_value

# A slider's box (its readout) follows a move in the browser this long after the frame. Sent with
# the frame, the box's new text cost JupyterLab's page the work that delays showing the frame: key
# press to decoded image 39.6 ms with it, 32.6 ms without (all five explorers, frames drawn ahead;
# the bare round trip 32.3-32.9 ms in the same runs; benchmarks/browser_latency.py).
READOUT_DELAY_S = 0.04

TEXT = {
    "en": {
        "invalid": "Not drawn: {reason} The figure still shows the last setting.",
        "range_problem": "{name} must be {kind} from {low} to {high} ({why}); got {value}.",
        "choice_problem": "{name} must be one of {options} ({why}); got {value}.",
        "number": "a number", "whole": "a whole number",
        "unexpected": "Could not draw this setting ({error}); the previous figure stays.",
        "label_why": "a label is a target probability",
        "dtype_why": "the floating-point types torch computes in",
    },
    "ko": {
        "invalid": "그리지 않았습니다: {reason} 그림은 마지막 설정 그대로입니다.",
        "range_problem": "{name} 값은 {low}부터 {high}까지의 {kind}여야 합니다({why}). 입력값: {value}",
        "choice_problem": "{name} 값은 {options} 중 하나여야 합니다({why}). 입력값: {value}",
        "number": "수", "whole": "정수",
        "unexpected": "이 설정으로는 그릴 수 없습니다 ({error}). 이전 그림을 그대로 둡니다.",
        "label_why": "레이블은 타깃 확률입니다",
        "dtype_why": "torch가 계산하는 부동소수점 자료형",
    },
}


def loss_and_gradient(fn, logits, *args, **kwargs):
    """Element-wise ``fn(logits, *args, **kwargs)`` and its gradient in the logits, as float64 arrays."""
    leaf = logits.detach().clone().requires_grad_()
    loss = fn(leaf, *args, **kwargs)
    loss.sum().backward()
    return loss.detach().double().numpy(), leaf.grad.double().numpy()


def show_number(value) -> str:
    """A number as a person reads it: 19, 0.1, 1e+30, NaN, −inf (with a real minus sign)."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return repr(value)
    if math.isnan(value):
        return "NaN"
    text = "inf" if math.isinf(value) and value > 0 else ("-inf" if math.isinf(value) else format(value, ".15g"))
    return text.replace("-", "−")


def box_text(value) -> str:
    """What a typed box shows for ``value``: exact, short, parseable by Python's float()."""
    return format(value, ".15g") if isinstance(value, (int, float)) and not isinstance(value, bool) else str(value)


def parse_number(text):
    """The number a person typed ("19", " 1e30 ", "nan", "−3"), or the text itself if it is none."""
    if isinstance(text, (int, float)) and not isinstance(text, bool):
        return text
    try:
        return float(str(text).strip().replace("−", "-").replace(",", ""))
    except ValueError:
        return text


@contextlib.contextmanager
def one_torch_thread():
    """torch on one thread while an explorer computes: its arrays are a few thousand numbers, where a
    second thread only adds its start-up and, on a shared 2-core machine (Colab, Binder, a class
    server), takes the core that the browser and the server need (precision explorer: 21 ms of
    CPU an update with two threads, 14 ms with one)."""
    threads = torch.get_num_threads()
    if threads == 1:
        yield
        return
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(threads)


class InputProblem(ValueError):
    """A setting the explorer cannot draw; its message is shown in the widget."""


class NumberBox(ipywidgets.Text):
    """A box for a typed number. Holds text (so "nan" or "1e30" reaches Python and gets an answer
    instead of being dropped by the browser); a number assigned from code is stored as its text."""

    value = traitlets.Any("", help="the typed text").tag(sync=True)

    @traitlets.validate("value")
    def _as_text(self, proposal):
        return box_text(proposal["value"])


class Explorer:
    """Base class; see the five ``*_explorer`` functions in :mod:`lossviz.widgets`."""

    name = "explorer"
    TEXT: dict = {"en": {}, "ko": {}}
    # typed box -> the setting it sets (a slider's name, or the box's own for a box alone)
    BOXES: dict = {}
    # boxes left out of values() and describe(): each mirrors its slider there
    MIRRORS: tuple = ()

    def __init__(self, lang: str | None = None):
        self.language = i18n.resolve(lang)
        plots.use_readable_defaults()
        self._quiet = False
        self.controls = self.build_controls()
        self._names = {id(control): name for name, control in self.controls.items()}
        self._drawn = {setting: self._initial(setting) for setting in set(self.BOXES.values())}
        self.figure, dynamic = self.build_figure()
        self.live = Frames(self.figure, dynamic, groups=self.cached_groups())
        width = int(self.figure.get_figwidth() * self.figure.dpi)
        self.image = ipywidgets.Image(format=plots.frame_format(self.live.encoding),
                                      layout=ipywidgets.Layout(width="100%", max_width=f"{width}px", margin="0"))
        self.message = ipywidgets.HTML(layout=ipywidgets.Layout(min_height="1.6em"))
        self.widget = ipywidgets.VBox([self._control_rows(), self.message, self.image],
                                      layout=ipywidgets.Layout(width="100%", max_width=f"{width + 20}px"))
        self.data = None
        self.last_error: Exception | None = None
        self.update_seconds = collections.deque(maxlen=500)  # kernel-side time of recent updates
        self.frames_sent = 0
        # A setting seen before (a drag goes back and forth) is not computed, drawn nor encoded again.
        self.frames_kept = 48
        self._kept: collections.OrderedDict = collections.OrderedDict()
        self.pacer = Pacer(self.refresh)
        self.prefetcher = Prefetcher(self._draw_ahead)
        self.frames_reused = 0  # frames sent from the kept ones (seen before, or drawn ahead)
        self._readouts: set = set()  # boxes whose text follows their slider after the frame
        self._readout_handle = None
        for control in self.controls.values():
            control.observe(self._on_change, names="value")
        self.refresh(frame_changed=True)

    def _initial(self, setting):
        control = self.controls[setting]
        return parse_number(control.value) if isinstance(control, NumberBox) else control.value

    def _control_rows(self):
        # a slider and its box stay together when the row wraps
        boxed = {slider: box for box, slider in self.BOXES.items() if slider != box}
        items, taken = [], set()
        for name, control in self.controls.items():
            if name in taken:
                continue
            if name in boxed:
                items.append(ipywidgets.HBox([control, self.controls[boxed[name]]]))
                taken.add(boxed[name])
            else:
                items.append(control)
        return ipywidgets.HBox(items, layout=ipywidgets.Layout(flex_flow="row wrap"))

    # --- for subclasses ---------------------------------------------------------------------------
    def build_controls(self) -> dict:
        raise NotImplementedError

    def build_figure(self):
        """Returns (figure, the artists that change on updates)."""
        raise NotImplementedError

    def compute(self, **values) -> dict:
        """Data for these setting values; raises :class:`InputProblem` for values it cannot draw."""
        raise NotImplementedError

    def draw(self, data: dict) -> bool:
        """Moves the artists to ``data``; returns True when limits or ticks changed (a full redraw)."""
        raise NotImplementedError

    def cached_groups(self) -> list:
        """Parts of the figure drawn alone in their axes whose pixels LiveFigure may cache."""
        return []

    def check(self, setting: str, value):
        """``value`` for ``setting`` if it can be drawn, else an :class:`InputProblem` saying why.
        Subclasses that take typed boxes override this (compute() uses it too)."""
        return value

    def on_setting(self, setting: str, value) -> None:
        """Called when a typed or slid setting changed, before the redraw (e.g. to move a limit)."""

    # --- strings ----------------------------------------------------------------------------------
    def t(self, key: str, **fields) -> str:
        """This explorer's string ``key`` in its language (falling back to the shared strings)."""
        for table in (self.TEXT[self.language], TEXT[self.language], i18n.SHARED[self.language]):
            if key in table:
                template = table[key]
                break
        else:
            raise KeyError(key)
        text = template.format(**fields) if fields else template
        return i18n.josa(text) if self.language == "ko" else text

    def label_of(self, setting: str) -> str:
        control = self.controls.get(setting)
        return (control.description if control is not None else "") or setting

    def in_range(self, setting: str, value, low: float, high: float, why: str, integer: bool = False):
        """``value`` as a float (or int) inside [low, high], else an InputProblem naming the range and why."""
        number = parse_number(value)
        ok = (isinstance(number, (int, float)) and not isinstance(number, bool) and math.isfinite(number)
              and low <= number <= high and (not integer or float(number).is_integer()))
        if not ok:
            raise InputProblem(self.t("range_problem", name=self.label_of(setting), kind=self.t("whole" if integer else "number"),
                                      low=show_number(low), high=show_number(high), why=why,
                                      value=show_number(number)))
        return int(number) if integer else float(number)

    def one_of(self, setting: str, value, options, why: str):
        if isinstance(value, str) and value in options:
            return value
        raise InputProblem(self.t("choice_problem", name=self.label_of(setting), options=", ".join(map(str, options)),
                                  why=why, value=show_number(value)))

    def check_label(self, value) -> float:
        return self.in_range("label", value, 0.0, 1.0, self.t("label_why"))

    def check_dtype(self, value, dtypes) -> str:
        return self.one_of("dtype", value, list(dtypes), self.t("dtype_why"))

    # --- the update cycle -------------------------------------------------------------------------
    def values(self) -> dict:
        """The setting drawn for every control: a typed box's number, a slider's value or the
        exact value typed into its box."""
        result = {}
        for name, control in self.controls.items():
            if name in self.MIRRORS:
                continue
            setting = self.BOXES.get(name, name)
            result[name] = self._drawn[setting] if setting in self._drawn else control.value
        return result

    @contextlib.contextmanager
    def _quietly(self):
        self._quiet, before = True, self._quiet
        try:
            yield
        finally:
            self._quiet = before

    def _set_quietly(self, name: str, value) -> None:
        with self._quietly():
            self.controls[name].value = value

    def _box_for(self, setting: str) -> str | None:
        return next((box for box, target in self.BOXES.items() if target == setting and box != setting), None)

    def _is_snap(self, control, new, drawn) -> bool:
        """True when a slider's report is its step grid's nearest point to the drawn value."""
        if not isinstance(new, (int, float)) or not isinstance(drawn, (int, float)) or not math.isfinite(drawn):
            return False
        step = getattr(control, "step", None) or 0
        if type(control).__name__ == "FloatLogSlider":
            if new <= 0 or drawn <= 0:
                return False
            return abs(math.log(new / drawn, control.base)) <= step / 2 + 1e-9
        return abs(new - drawn) <= step / 2 + 1e-12 and new != drawn

    def _on_change(self, change) -> None:
        if self._quiet:
            return
        name = self._names.get(id(change.owner))
        if name in self.BOXES:
            self._typed(name, change.new)
        elif name in self._drawn:
            self._slid(name, change.owner, change.new)
        else:
            self._redraw(change.owner)

    def _redraw(self, control) -> None:
        # A browser change arriving while the kernel still catches up joins the one draw
        # scheduled on the event loop (see _pacing): a fast drag never queues stale frames.
        if from_browser(control) and self.pacer.defer():
            return
        self.refresh()

    def _typed(self, box: str, text) -> None:
        setting = self.BOXES[box]
        try:
            value = self.check(setting, parse_number(text))
        except InputProblem as problem:
            self._show(self.t("invalid", reason=problem))
            self._set_quietly(box, box_text(self._drawn[setting]))  # the box shows what is drawn
            return
        browser = from_browser(self.controls[box])
        with self._frame_first():
            self._drawn[setting] = value
            self._set_quietly(box, box_text(value))
            if setting != box:
                self._set_quietly(setting, value)
            self.on_setting(setting, value)
            self._redraw(self.controls[box])
        if browser and setting != box:  # the slider beside the box is the likely next move
            self._prefetch(setting, 1)

    def _slid(self, setting: str, control, new) -> None:
        drawn = self._drawn[setting]
        if self._is_snap(control, new, drawn):
            return  # the browser's slider moved to its grid point nearest to a typed value
        browser = from_browser(control)
        kind = type(control).__name__
        if isinstance(new, float) and math.isfinite(new) and (
                (kind == "FloatLogSlider" and new > 0) or (kind == "FloatSlider" and browser)):
            # 10^1.35 is shown and drawn as 22.39, both places; the browser's 0.1 * 3 as 0.3
            new = slider_value(control, new)
        try:
            value = self.check(setting, new)
        except InputProblem as problem:
            self._show(self.t("invalid", reason=problem))
            return
        direction = 1 if not isinstance(drawn, (int, float)) or value >= drawn else -1
        with self._frame_first():
            self._drawn[setting] = value
            box = self._box_for(setting)
            if box is not None:
                self._follow(box, browser)
            self.on_setting(setting, value)
            self._redraw(control)
        if browser:
            self._prefetch(setting, direction)

    def _follow(self, box: str, later: bool) -> None:
        """The box shows the value drawn for its setting: at once, or (a move in the browser, with an
        event loop) READOUT_DELAY_S later, with whatever value is drawn by then."""
        loop = running_loop() if later else None
        if loop is None:
            self._set_quietly(box, box_text(self._drawn[self.BOXES[box]]))
            return
        self._readouts.add(box)
        if self._readout_handle is None:
            self._readout_handle = loop.call_later(READOUT_DELAY_S, self._show_readouts)

    def _show_readouts(self) -> None:
        self._readout_handle = None
        boxes, self._readouts = self._readouts, set()
        for box in boxes:
            self._set_quietly(box, box_text(self._drawn[self.BOXES[box]]))

    @contextlib.contextmanager
    def _frame_first(self):
        """The controls' own updates (a box's text, a slider's new range) go to the browser after
        the new frame: each message costs the browser work, and the frame is what the student waits for."""
        with contextlib.ExitStack() as stack:
            for control in self.controls.values():
                stack.enter_context(control.hold_sync())
            yield

    def _prefetch(self, setting: str, direction: int) -> None:
        if self.frames_kept > 0:
            self.prefetcher.schedule(setting, direction, self._neighbours)

    def _neighbours(self, setting: str, direction: int) -> list:
        return neighbours(self.controls[setting], self._drawn.get(setting), direction)

    def _draw_ahead(self, setting: str, value) -> bool:
        """Computes, draws and keeps the frame for ``setting`` = ``value`` (the others as drawn);
        the figure's artists then show the current setting again. True when a frame was drawn."""
        if self.data is None or self.frames_kept <= 0 or self.pacer.pending:
            return False  # a draw of the latest setting comes first
        values = self.values()
        for name in values:  # the slider and a box that is not its mirror both hold the setting
            if self.BOXES.get(name, name) == setting:
                values[name] = value
        key = tuple(values.items())
        if key in self._kept:
            return False
        try:
            data, frame, changed = self._new_frame(values, False)
        except Exception:  # a neighbour it cannot draw is not kept (a press there gets its message)
            self.live._background = None
            changed, frame = True, None
        if self.draw(self.data) or changed:
            self.live._background = None  # the next frame starts from the current limits
        if frame is None:
            return False
        self._keep(key, data, frame)
        return True

    def refresh(self, frame_changed: bool = False) -> bool:
        """Recompute and redraw. On a value it cannot draw, shows why and keeps the last figure."""
        self.pacer.cancel()  # drawing the latest settings now
        started, clock = time.perf_counter(), time.monotonic()
        values = self.values()
        key = tuple(values.items())
        try:
            kept = self._kept.get(key) if not frame_changed else None
            if kept is not None:
                data, frame = kept
                self._kept.move_to_end(key)
                self.frames_reused += 1
                if self.draw(data):  # the artists follow (a snapshot draws them); new limits:
                    self.live._background = None  # the next drawn frame starts from scratch
            else:
                data, frame, frame_changed = self._new_frame(values, frame_changed)
                self._keep(key, data, frame)
            self.update_seconds.append(time.perf_counter() - started)
            if self.values() != values:
                return False  # superseded while it was drawn (a comm handled in another thread): not sent
            self.image.value = frame
            self.frames_sent += 1
        except InputProblem as problem:
            self._show(self.t("invalid", reason=problem))
            return False
        except Exception as error:  # a widget callback must never end in a traceback
            self.last_error = error
            self._show(self.t("unexpected", error=f"{type(error).__name__}: {error}"))
            # the artists may be half-updated: redraw everything from the last good data next time
            self.live._background = None
            return False
        finally:
            self.pacer.drawn(clock)
        self.data = data
        self.message.value = ""
        return True

    def _new_frame(self, values: dict, frame_changed: bool):
        """(data, frame, whether limits changed) for these settings: computed, drawn, encoded."""
        with one_torch_thread():
            data = self.compute(**values)
        frame_changed = self.draw(data) or frame_changed
        return data, self.live.render(frame_changed), frame_changed

    def _keep(self, key, data, frame) -> None:
        if self.frames_kept <= 0:
            return
        self._kept[key] = (data, frame)
        while len(self._kept) > self.frames_kept:
            self._kept.popitem(last=False)

    def _show(self, text: str) -> None:
        escaped = text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
        # The message brings its own light background: #b00020 on #fff0f0 is 6.6:1, in JupyterLab's
        # dark theme too, whose dark output area (about #111) would leave the red text at 2.6:1.
        self.message.value = (f'<span style="color:#b00020;background:#fff0f0;font-weight:bold;'
                              f'padding:0 0.3em">⚠ {escaped}</span>')

    # --- display -------------------------------------------------------------------------------
    def describe(self) -> str:
        settings = ", ".join(f"{name}={value!r}" for name, value in self.values().items())
        return f"{self.name}({settings})"

    def _widget_view(self) -> dict:
        view = getattr(self.widget, "_repr_mimebundle_", None)
        if view is not None:  # ipywidgets 8
            return dict(view())
        # ipywidgets 7 displays through _ipython_display_; its view is this one mimetype
        return {"application/vnd.jupyter.widget-view+json": {
            "version_major": 2, "version_minor": 0, "model_id": self.widget.model_id}}

    def _repr_mimebundle_(self, **kwargs):
        # The live widget for JupyterLab, a PNG at twice the pixel density (shown at the live
        # frame's size) for GitHub and static HTML, and a short stable text that nbval compares.
        bundle = self._widget_view()
        png, size = self.live.snapshot()
        bundle["image/png"] = base64.b64encode(png).decode("ascii")
        bundle["text/plain"] = self.describe()
        return bundle, {"image/png": size}


# --- control factories: one look for every explorer ---------------------------------------------

STYLE = {"description_width": "initial"}


def slider(description, low, high, step, value, **kwargs):
    """A slider without its own readout: the number box next to it is the readout."""
    return ipywidgets.FloatSlider(value=value, min=low, max=high, step=step, description=description,
                                  continuous_update=True, style=STYLE, readout=False, **kwargs)


def int_slider(description, low, high, value):
    return ipywidgets.IntSlider(value=value, min=low, max=high, description=description,
                                continuous_update=True, style=STYLE, readout=False)


def log_slider(description, low_exponent, high_exponent, value, step=0.05):
    return ipywidgets.FloatLogSlider(value=value, base=10, min=low_exponent, max=high_exponent, step=step,
                                     description=description, continuous_update=True, style=STYLE, readout=False)


def choice(description, options, value):
    return ipywidgets.ToggleButtons(options=options, value=value, description=description, style=STYLE)


def dropdown(description, options, value):
    return ipywidgets.Dropdown(options=options, value=value, description=description, style=STYLE,
                               layout=ipywidgets.Layout(width="max-content"))


def number_box(description, value, width="7em"):
    """A typed number (Enter or leaving the box applies it)."""
    return NumberBox(value=box_text(value), description=description, style=STYLE, continuous_update=False,
                     layout=ipywidgets.Layout(width=width if not description else "14em"))
