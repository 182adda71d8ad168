"""Explorers, headless: no kernel, no browser. Set each control's .value as a person would move it,
then check the plotted data and the frame; typed values drawn exactly; every rejected value with
its own message in both languages; non-finite values named; labels apart at every K; readable,
opaque, 2x snapshots; the display bundle in ipywidgets 8 and 7."""
import base64
import io
import itertools
import math
import warnings

import ipywidgets
import numpy as np
import pytest
import torch
from matplotlib.lines import Line2D
from matplotlib.text import Text
from PIL import Image

from lossviz import numerics, plots
from lossviz.widgets import EXPLORERS
from lossviz.widgets._explorer import InputProblem, NumberBox, box_text
from lossviz.widgets._prefetch import slider_value


@pytest.fixture(params=sorted(EXPLORERS), scope="module")
def explorer(request):
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # a glyph warning or a matplotlib warning fails here
        return EXPLORERS[request.param]("en")


def other_value(explorer, name, control):
    """A different, valid value for any control (a typed box gets text, as from a keyboard)."""
    options = getattr(control, "options", None)
    if options:
        values = [o[1] if isinstance(o, tuple) else o for o in options]
        return next(v for v in values if v != control.value)
    if isinstance(control, NumberBox):
        setting = explorer.BOXES[name]
        slider = explorer.controls.get(setting)
        if slider is None or slider is control:
            return str(float(control.value) * 1.5)
        return str(other_value(explorer, setting, slider))
    if type(control).__name__ == "FloatLogSlider":
        wanted = float(f"{control.base ** ((control.min + control.max) / 2 + 0.3):.4g}")
        return wanted if not math.isclose(wanted, explorer.values()[name]) else control.base ** control.min
    middle = control.min + (control.max - control.min) * 0.7
    value = int(round(middle)) if type(control).__name__ == "IntSlider" else round(middle, 2)
    return value if value != control.value else control.min


def frame(explorer) -> Image.Image:
    return Image.open(io.BytesIO(explorer.image.value))


def test_every_control_visibly_changes_the_figure(explorer):
    for name, control in explorer.controls.items():
        before_png, before_value = explorer.image.value, control.value
        control.value = other_value(explorer, name, control)
        assert explorer.message.value == "", (name, explorer.message.value)
        assert explorer.last_error is None
        assert explorer.image.value != before_png, f"{explorer.name}: moving {name} left the frame unchanged"
        control.value = before_value
        assert explorer.message.value == "", (name, explorer.message.value)


def test_frame_is_the_live_figure_small_and_opaque(explorer):
    image = frame(explorer)
    assert image.size == explorer.figure.canvas.get_width_height()
    rgb = np.asarray(image.convert("RGBA"))
    assert (rgb[..., 3] == 255).all(), "a transparent frame turns dark in a dark theme"
    assert tuple(rgb[0, 0, :3]) == (255, 255, 255)
    assert len(np.unique(rgb.reshape(-1, 4), axis=0)) > 10  # not blank
    assert len(explorer.image.value) <= 30 * 1024, f"{explorer.name}: {len(explorer.image.value)} bytes a frame"
    assert explorer.image.format == plots.frame_format()


def test_display_bundle_has_a_2x_snapshot(explorer):
    bundle, metadata = explorer._repr_mimebundle_()
    assert set(bundle) >= {"application/vnd.jupyter.widget-view+json", "image/png", "text/plain"}
    snapshot = Image.open(io.BytesIO(base64.b64decode(bundle["image/png"])))
    width, height = explorer.figure.canvas.get_width_height()
    assert metadata == {"image/png": {"width": width, "height": height}}
    assert snapshot.size == (2 * width, 2 * height)
    assert bundle["text/plain"].startswith(explorer.name + "(") and "0x" not in bundle["text/plain"]
    assert bundle["text/plain"] == explorer._repr_mimebundle_()[0]["text/plain"]  # stable for nbval
    # the live canvas is back at 1x afterwards, and an update is still a cheap blit
    draws = explorer.live.full_draws
    name, control = next(iter(explorer.controls.items()))
    before = control.value
    control.value = other_value(explorer, name, control)
    control.value = before
    assert frame(explorer).size == (width, height) and explorer.live.full_draws == draws


def test_widget_view_without_ipywidgets_8_repr(explorer, monkeypatch):
    """ipywidgets 7 (Colab) has no Widget._repr_mimebundle_: the view comes from the model id."""
    monkeypatch.setattr(type(explorer.widget), "_repr_mimebundle_", None, raising=False)
    view = explorer._widget_view()
    assert view == {"application/vnd.jupyter.widget-view+json": {
        "version_major": 2, "version_minor": 0, "model_id": explorer.widget.model_id}}


@pytest.mark.skipif(int(ipywidgets.__version__.split(".")[0]) != 7, reason="runs where ipywidgets 7 is installed")
def test_every_explorer_works_under_ipywidgets_7():
    for make in EXPLORERS.values():
        explorer = make("ko")
        for name, control in explorer.controls.items():
            before = explorer.image.value
            control.value = other_value(explorer, name, control)
            assert explorer.message.value == "" and explorer.image.value != before, name
        bundle, metadata = explorer._repr_mimebundle_()
        assert bundle["application/vnd.jupyter.widget-view+json"]["model_id"] == explorer.widget.model_id
        assert metadata["image/png"]["width"] > 0


@pytest.mark.parametrize("language", ["en", "ko"])
def test_both_languages_render_without_glyph_warnings(language):
    for make in EXPLORERS.values():
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            explorer = make(language)
        assert explorer.last_error is None and explorer.message.value == ""
    korean = EXPLORERS["overflow_explorer"]("ko")
    assert korean.controls["label"].description == "레이블 y"
    assert "손실" in [axes.get_title() for axes in korean.figure.axes]


# --- readable ------------------------------------------------------------------------------------

def _texts(figure):
    return [t for t in figure.findobj(Text) if t.get_visible() and t.get_text().strip()]


@pytest.mark.parametrize("language", ["en", "ko"])
def test_text_is_at_least_11_pixels_and_figures_are_white(language):
    for make in EXPLORERS.values():
        explorer = make(language)
        figure = explorer.figure
        for text in _texts(figure):
            pixels = text.get_fontsize() * figure.dpi / 72
            assert pixels >= 11, f"{explorer.name}: {text.get_text()!r} is {pixels:.1f} px"
        assert figure.get_facecolor() == (1.0, 1.0, 1.0, 1.0)


def test_lines_differ_in_style_not_only_in_colour(explorer):
    for axes in explorer.figure.axes:
        lines = [line for line in axes.get_lines() if len(line.get_xdata()) > 2 and line.get_visible()]
        for a, b in itertools.combinations(lines, 2):
            same_look = (a.get_linestyle(), a.get_linewidth(), a.get_marker()) == (b.get_linestyle(), b.get_linewidth(),
                                                                                 b.get_marker())
            assert not same_look, f"{explorer.name}: two lines differ by colour alone ({a.get_label()}, {b.get_label()})"


def test_symlog_axes_have_no_false_kink(explorer):
    for axes in explorer.figure.axes:
        for axis in (axes.xaxis, axes.yaxis):
            if axis.get_scale() == "symlog":
                threshold = axis._scale.linthresh
                step = threshold * 1e-4
                below, at, above = axis.get_transform().transform([threshold - step, threshold, threshold + step])
                assert (at - below) == pytest.approx(above - at, rel=1e-3), "slopes differ at linthresh"


def test_static_figures_are_stored_at_twice_the_density():
    figure, (axes,) = plots.new_figure()
    axes.plot([0, 1], [0, 1])
    axes.set_title("title")
    png, size = figure._repr_png_()
    assert size == {"width": 800, "height": 272}
    image = Image.open(io.BytesIO(png))
    assert image.size == (1600, 544) and np.asarray(image.convert("RGBA"))[0, 0].tolist() == [255, 255, 255, 255]
    assert min(t.get_fontsize() for t in _texts(figure)) >= 10.5


def test_cached_text_is_pixel_exact():
    """A text pasted from the sprite cache, or written from cached words, looks exactly as if it had
    been drawn from those caches' first fill (the kept frames are off: every value is drawn)."""
    cached = EXPLORERS["softmax_explorer"]("en")
    cached.frames_kept = 0
    for classes in (10, 4, 10):
        cached.controls["classes"].value = classes
    assert cached.live.sprites.hits > 0 and cached.live.text_runs.hits > 0
    fresh = EXPLORERS["softmax_explorer"]("en")
    fresh.controls["classes"].value = 10
    assert np.array_equal(np.asarray(cached.figure.canvas.buffer_rgba()), np.asarray(fresh.figure.canvas.buffer_rgba()))


# --- what is drawn is what was asked ---------------------------------------------------------------

def test_typed_pos_weight_is_drawn_exactly_and_the_slider_snap_is_ignored():
    explorer = EXPLORERS["pos_weight_explorer"]("en")
    box, slider = explorer.controls["pos_weight_text"], explorer.controls["pos_weight"]
    box.value = "19"
    assert explorer.values()["pos_weight"] == 19.0 and box.value == "19"
    curves = explorer.data["curves"]
    assert np.allclose(curves["positive"][1], 19 * curves["positive_plain"][1])
    png = explorer.image.value
    slider.value = 10 ** 1.3  # what the browser's slider sends back: its grid point nearest to 19
    assert explorer.values()["pos_weight"] == 19.0 and box.value == "19" and explorer.image.value == png
    slider.value = 10 ** 1.35  # a real step
    assert explorer.values()["pos_weight"] == 22.39 and box.value == "22.39"


@pytest.mark.parametrize("typed", ["1e-30", "0", "-1", "nan", "inf", "1e30", "abc", ""])
@pytest.mark.parametrize("language", ["en", "ko"])
def test_rejected_typed_pos_weight_says_why_and_the_box_shows_what_is_drawn(typed, language):
    explorer = EXPLORERS["pos_weight_explorer"](language)
    explorer.controls["pos_weight_text"].value = "4"
    png = explorer.image.value
    explorer.controls["pos_weight_text"].value = typed
    message = explorer.message.value
    assert "pos_weight" in message and "0.1" in message and "100" in message, message
    assert ("must be a number from" in message) if language == "en" else ("까지의 수여야 합니다" in message)
    assert explorer.controls["pos_weight_text"].value == "4" and explorer.values()["pos_weight"] == 4.0
    assert explorer.image.value == png
    explorer.controls["pos_weight_text"].value = "5"
    assert explorer.message.value == "" and explorer.controls["pos_weight"].value == 5.0


@pytest.mark.parametrize("typed", ["1e30", "1", "11", "2.5", "nan", "K"])
def test_typed_number_of_classes_outside_2_to_10_is_refused_not_clamped(typed):
    explorer = EXPLORERS["softmax_explorer"]("en")
    explorer.controls["classes_text"].value = typed
    message = explorer.message.value
    assert "classes K must be a whole number from 2 to 10" in message and "Could not draw" not in message
    assert explorer.values()["classes"] == 3 and explorer.controls["classes_text"].value == "3"


@pytest.mark.parametrize("make, settings, expected", [
    ("overflow_explorer", {"label": float("nan")}, "label y must be a number from 0 to 1"),
    ("overflow_explorer", {"label": 5}, "label y must be a number from 0 to 1"),
    ("overflow_explorer", {"dtype": None}, "dtype must be one of float16, bfloat16, float32, float64"),
    ("overflow_explorer", {"logit_range": 1e30}, "logit range ± must be a number from 0.5 to 10000"),
    ("precision_explorer", {"label": -0.5}, "label y must be a number from 0 to 1"),
    ("precision_explorer", {"dtype": "int8"}, "dtype must be one of"),
    ("softmax_explorer", {"classes": 1}, "classes K must be a whole number from 2 to 10"),
    ("softmax_explorer", {"classes": 1e30}, "classes K must be a whole number from 2 to 10"),
    ("softmax_explorer", {"target": 5}, "target class must be a whole number from 0 to 2"),
    ("softmax_explorer", {"spread": 0.0}, "spread s must be a number from 0.1 to 10000"),
    ("label_smoothing_explorer", {"epsilon": 2.0}, "smoothing ε must be a number from 0 to 1"),
    ("label_smoothing_explorer", {"classes": 1}, "classes K must be a whole number from 2 to 20"),
    ("label_smoothing_explorer", {"convention": "blog"}, "convention must be one of torch, uniform_others"),
    ("pos_weight_explorer", {"pos_weight": float("nan")}, "pos_weight must be a number from 0.1 to 100"),
    ("pos_weight_explorer", {"positive_share": 0.9}, "share of positives must be a number from 0.01 to 0.5"),
])
def test_every_setting_rejected_from_code_names_its_range(make, settings, expected):
    explorer = EXPLORERS[make]("en")
    with pytest.raises(InputProblem, match="got") as problem:
        explorer.compute(**{**explorer.values(), **settings})
    assert expected in str(problem.value)


@pytest.mark.parametrize("make, control, value", [
    ("overflow_explorer", "label", float("nan")), ("overflow_explorer", "dtype", None),
    ("precision_explorer", "label", float("nan")), ("softmax_explorer", "dtype", None),
])
@pytest.mark.parametrize("language", ["en", "ko"])
def test_a_control_set_to_nonsense_from_code_gets_a_specific_message(make, control, value, language):
    explorer = EXPLORERS[make](language)
    png = explorer.image.value
    explorer.controls[control].value = value
    message = explorer.message.value
    assert message and explorer.last_error is None and explorer.image.value == png
    assert ("must be" in message) if language == "en" else ("값은" in message and "입력값" in message)


# --- overflow ------------------------------------------------------------------------------------

def test_overflow_data_shows_what_the_notebooks_say():
    explorer = EXPLORERS["overflow_explorer"]("en")
    explorer.controls["label"].value = 0.0
    data = explorer.data
    x = data["x"]
    upper, lower = numerics.sigmoid_saturation(torch.float32)
    textbook_loss, _ = data["curves"]["textbook"]
    torch_loss, torch_grad = data["curves"]["torch"]
    assert np.isinf(textbook_loss[x >= upper]).all() and np.isfinite(textbook_loss[x < upper]).all()
    assert (torch_loss[x >= upper] == 100).all() and (torch_grad[x >= upper] == 0).all()
    assert data["saturation"] == (upper, lower)
    stable_loss, stable_grad = data["curves"]["stable"]
    assert np.isfinite(stable_loss).all() and np.allclose(stable_grad[x > 20], 1.0)
    (inf_mask, _), (nan_mask, _) = data["inf"], data["nan"]
    assert x[inf_mask].min() >= upper and nan_mask[x <= lower].all()


def test_overflow_names_torchs_own_nonfinite_gradient_in_float16():
    """float16, y = 1: torch's Sigmoid + BCELoss gradient is −inf on [−17.34, −11.09], NaN beyond."""
    explorer = EXPLORERS["overflow_explorer"]("en")
    explorer.controls["dtype"].value = "float16"
    explorer.controls["label_text"].value = "1"
    x = explorer.data["x"]
    _, grad = explorer.data["curves"]["torch"]
    minus_inf = x[np.isneginf(grad)]
    assert minus_inf.min() == pytest.approx(-17.34, abs=0.05) and minus_inf.max() == pytest.approx(-11.09, abs=0.1)
    assert np.isnan(grad[x < -17.4]).all()
    strip = explorer.strips[1]  # under the gradient panel
    (low, high), = strip.stretches[("torch", "−inf")]
    assert low == pytest.approx(-17.34, abs=0.1) and high == pytest.approx(-11.09, abs=0.1)
    assert any(kind.endswith("NaN") and stretches and stretches[0][0] == -30.0
               for (row, kind), stretches in strip.stretches.items() if row == "torch")
    # and nothing is marked where every curve is finite
    assert not any(strip.stretches[(row, kind)] for row in ("stable", "exact") for kind in plots.NONFINITE)


def test_overflow_textbook_signs_are_named():
    explorer = EXPLORERS["overflow_explorer"]("en")
    explorer.controls["label_text"].value = "0"
    loss_strip = explorer.strips[0]
    assert loss_strip.stretches[("textbook", "+inf")] and not loss_strip.stretches[("textbook", "−inf")]
    shown = {label.get_text() for label in loss_strip.labels if label.get_visible()}
    assert "+inf" in shown


def test_overflow_dtype_moves_the_saturation_lines():
    explorer = EXPLORERS["overflow_explorer"]("en")
    explorer.controls["dtype"].value = "float16"
    assert explorer.data["saturation"] == numerics.sigmoid_saturation(torch.float16)
    line = explorer.saturation_lines[0]
    assert line.get_xdata()[0] == numerics.sigmoid_saturation(torch.float16)[0] and line.get_visible()


@pytest.mark.parametrize("typed", ["1e30", "-1e30", "0", "-5", "nan", "inf"])
@pytest.mark.parametrize("language", ["en", "ko"])
def test_overflow_extreme_range_shows_a_message_and_keeps_the_figure(typed, language):
    explorer = EXPLORERS["overflow_explorer"](language)
    png, data = explorer.image.value, explorer.data
    explorer.controls["logit_range"].value = typed
    assert explorer.message.value and "Traceback" not in explorer.message.value
    assert ("must be" in explorer.message.value) if language == "en" else ("값은" in explorer.message.value)
    assert explorer.image.value == png and explorer.data is data
    assert explorer.controls["logit_range"].value == "30"
    explorer.controls["logit_range"].value = "50"  # recovers
    assert explorer.message.value == "" and explorer.data["bound"] == 50.0


# --- labels apart ----------------------------------------------------------------------------------

def _overlapping_texts(explorer):
    """Pairs of labels drawn on top of each other, among those that change with the setting."""
    renderer = explorer.figure.canvas.get_renderer()
    texts = [t for t in explorer.live.dynamic if isinstance(t, Text) and t.get_visible() and t.get_text().strip()]
    boxes = [(t, t.get_window_extent(renderer)) for t in texts]
    return [(a.get_text(), b.get_text()) for (a, ba), (b, bb) in itertools.combinations(boxes, 2) if ba.overlaps(bb)]


@pytest.mark.parametrize("dtype", ["float16", "float32"])
def test_softmax_labels_never_collide_at_any_k(dtype):
    explorer = EXPLORERS["softmax_explorer"]("en")
    explorer.controls["dtype"].value = dtype
    explorer.controls["spread_text"].value = "1000"
    for classes in range(2, 11):
        explorer.controls["classes_text"].value = str(classes)
        assert not _overlapping_texts(explorer), (classes, _overlapping_texts(explorer))
    assert explorer.log_bars.kinds["naive"] == [""] + ["−inf"] * 9  # class 0's log p is 0
    assert all(explorer.log_bars.nonfinite["−inf"].get_visible() for _ in [0])


def test_label_smoothing_labels_never_collide_at_any_k():
    explorer = EXPLORERS["label_smoothing_explorer"]("ko")
    for classes in range(2, 21):
        explorer.controls["classes"].value = classes
        assert not _overlapping_texts(explorer), (classes, _overlapping_texts(explorer))


# --- precision -----------------------------------------------------------------------------------

def test_precision_errors_match_the_accuracy_claims():
    explorer = EXPLORERS["precision_explorer"]("en")
    explorer.controls["label"].value = 0.0
    errors = explorer.data["errors"]
    assert errors["stable"].max() <= 2 and errors["torch"].max() > 1e6 and errors["log_form"].max() > 1e6
    explorer.controls["dtype"].value = "float64"
    assert explorer.data["errors"]["stable"].max() <= 2


# --- softmax -------------------------------------------------------------------------------------

def test_softmax_naive_turns_minus_inf_and_nan():
    explorer = EXPLORERS["softmax_explorer"]("en")
    explorer.controls["classes"].value = 3
    explorer.controls["spread_text"].value = "1000"
    explorer.controls["target"].value = 1
    data = explorer.data
    assert np.isneginf(data["log_p"]["naive"][1:]).all()
    assert np.allclose(data["log_p"]["stable"], [0, -1000, -2000])
    assert np.isinf(data["loss"]["naive"]) and data["loss"]["stable"] == 1000.0
    assert np.isnan(data["grad"]["naive"]).any()
    assert np.allclose(data["grad"]["stable"], [1, -1, 0])
    assert explorer.log_bars.kinds["naive"] == ["", "−inf", "−inf"]
    assert "NaN" in "".join(explorer.grad_bars.kinds["naive"]) and not any(explorer.grad_bars.kinds["stable"])
    assert explorer.loss_shading["+inf"].spans[0].get_visible()


def test_softmax_target_follows_the_number_of_classes():
    explorer = EXPLORERS["softmax_explorer"]("en")
    explorer.controls["classes"].value = 8
    explorer.controls["target"].value = 7
    explorer.controls["classes_text"].value = "3"
    assert explorer.controls["target"].max == 2 and explorer.values()["target"] == 2
    assert explorer.controls["target_text"].value == "2"
    assert explorer.message.value == "" and len(explorer.data["grad"]["stable"]) == 3
    assert len(explorer.log_bars.boxes["stable"]) == 3


def test_softmax_typed_spread_is_exact():
    explorer = EXPLORERS["softmax_explorer"]("en")
    explorer.controls["spread_text"].value = "1234"
    assert explorer.data["spread"] == 1234.0 and explorer.data["z"][0] == 1234.0
    explorer.controls["spread"].value = 10 ** 3.1  # the browser slider's nearest grid point
    assert explorer.data["spread"] == 1234.0 and explorer.controls["spread_text"].value == "1234"


# --- label smoothing -----------------------------------------------------------------------------

def test_label_smoothing_minimum_is_where_softmax_equals_target():
    explorer = EXPLORERS["label_smoothing_explorer"]("en")
    explorer.controls["classes"].value = 4
    explorer.controls["epsilon"].value = 0.1
    data = explorer.data
    assert np.allclose(data["target"], [0.925, 0.025, 0.025, 0.025])
    optimum = data["optimum"]
    assert optimum == pytest.approx(np.log(0.925 / 0.025))
    assert abs(explorer.data["curve"].argmin() * 0.1 - optimum) <= 0.1  # the curve's minimum is there
    explorer.controls["margin_text"].value = f"{optimum:.4f}"
    assert np.abs(explorer.data["gradient"]).max() < 1e-4  # p = t: the gradient vanishes
    explorer.controls["convention"].value = "uniform_others"
    assert np.allclose(explorer.data["target"], [0.9, 0.1 / 3, 0.1 / 3, 0.1 / 3])
    explorer.controls["epsilon"].value = 0.0
    assert explorer.data["optimum"] == np.inf and not explorer.optimum_line.get_visible()


# --- pos_weight ----------------------------------------------------------------------------------

def test_pos_weight_scales_only_the_positive_gradient():
    explorer = EXPLORERS["pos_weight_explorer"]("en")
    explorer.controls["pos_weight"].value = 10.0
    curves = explorer.data["curves"]
    assert np.allclose(curves["positive"][1], 10 * curves["positive_plain"][1])
    assert np.allclose(curves["positive"][0], 10 * curves["positive_plain"][0])
    assert explorer.controls["pos_weight_text"].value == "10"  # the typed box follows the slider


def test_pos_weight_moves_the_boundary_toward_the_negatives():
    explorer = EXPLORERS["pos_weight_explorer"]("en")
    explorer.controls["positive_share"].value = 0.05
    explorer.controls["pos_weight"].value = 1.0
    plain, plain_best, plain_best_p = explorer.data["boundary"], explorer.data["best"], explorer.data["best_probability"]
    explorer.controls["pos_weight_text"].value = "19"
    assert explorer.data["boundary"] < plain - 1.0
    assert explorer.data["boundary_plain"] == pytest.approx(plain)
    # the F1-best threshold on the feature is set by the ranking, which pos_weight does not change;
    # on the probability scale it moves up, because every probability moved up
    assert explorer.data["best"] == plain_best
    assert explorer.data["best_probability"] > plain_best_p + 0.2


def test_values_and_description_keep_their_shape():
    """Notebooks 02-10 print values() and store describe(): their keys and types stay."""
    assert str(EXPLORERS["pos_weight_explorer"]("en").values()) == \
        "{'pos_weight': 1.0, 'pos_weight_text': 1.0, 'positive_share': 0.05}"
    assert EXPLORERS["softmax_explorer"]("en").describe() == \
        "softmax_explorer(classes=3, spread=1000.0, target=1, dtype='float32')"
    assert EXPLORERS["overflow_explorer"]("en").describe() == \
        "overflow_explorer(label=0.0, dtype='float32', logit_range=30.0)"
    assert EXPLORERS["label_smoothing_explorer"]("en").describe() == \
        "label_smoothing_explorer(epsilon=0.1, classes=4, convention='torch', margin=5.0)"
    assert EXPLORERS["precision_explorer"]("en").describe() == "precision_explorer(label=0.0, dtype='float32')"


def test_a_box_accepts_exactly_its_sliders_range(explorer):
    """Box and slider never disagree: what a box accepts, its slider can show."""
    for box, setting in explorer.BOXES.items():
        slider = explorer.controls[setting]
        if slider is explorer.controls[box] or not hasattr(slider, "max"):
            continue
        log = type(slider).__name__ == "FloatLogSlider"
        low, high = (slider.base ** slider.min, slider.base ** slider.max) if log else (slider.min, slider.max)
        if setting == "target":
            continue  # bounded by K, checked in the softmax tests
        for end in (low, high):
            explorer.controls[box].value = f"{end:.15g}"
            assert explorer.message.value == "" and explorer.values()[setting] == pytest.approx(end), (setting, end)
            assert slider.value == pytest.approx(end)
        explorer.controls[box].value = f"{high * 1.01 + 0.01:.15g}"
        assert explorer.message.value, f"{explorer.name}: {setting} beyond its slider was accepted"
        explorer.controls[box].value = f"{(low + high) / 2 if not log else (low * high) ** 0.5:.15g}"


def _relative_luminance(hex_colour: str) -> float:
    channels = [int(hex_colour[i:i + 2], 16) / 255 for i in (0, 2, 4)]
    linear = [c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4 for c in channels]
    return 0.2126 * linear[0] + 0.7152 * linear[1] + 0.0722 * linear[2]


def test_a_refusal_message_is_readable_in_light_and_dark_themes():
    """The message carries its own text and background colours, so JupyterLab's dark output area
    (about #111) cannot pull its contrast under WCAG's 4.5:1."""
    import re

    explorer = EXPLORERS["pos_weight_explorer"]("en")
    explorer.controls["pos_weight_text"].value = "nan"
    style = re.search(r'style="([^"]*)"', explorer.message.value).group(1)
    colours = dict(re.findall(r"(color|background):#([0-9a-fA-F]{6})", style))
    assert set(colours) == {"color", "background"}, style
    lighter, darker = sorted(map(_relative_luminance, colours.values()), reverse=True)
    assert (lighter + 0.05) / (darker + 0.05) >= 4.5


# --- cheap updates -----------------------------------------------------------------------------------

def _pixels(png: bytes) -> np.ndarray:
    return np.asarray(Image.open(io.BytesIO(png)).convert("RGB"), dtype=int)


@pytest.mark.parametrize("language", ["en", "ko"])
def test_text_from_cached_words_sits_where_matplotlib_draws_it(language):
    """Every changing text the explorers draw from cached words: same ink, same place (within the
    quarter pixel a word may move, and a pixel of kerning across a space)."""
    from lossviz.widgets._frames import TextRuns
    checked = 0
    for make in EXPLORERS.values():
        explorer = make(language)
        live, renderer = explorer.live, explorer.live.canvas.get_renderer()
        for text in live.dynamic:
            if not (isinstance(text, Text) and text.get_visible() and TextRuns.handles(text)):
                continue
            drawn = []
            for draw in (lambda: text.draw(renderer), lambda: live.text_runs.draw(text, renderer)):
                live.canvas.restore_region(live._background)
                draw()
                drawn.append(np.asarray(renderer.buffer_rgba())[..., :3].astype(int))
            background = drawn[0].copy()
            live.canvas.restore_region(live._background)
            background = np.asarray(renderer.buffer_rgba())[..., :3].astype(int)
            inks = [np.abs(pixels - background).sum(-1) for pixels in drawn]
            boxes = [(np.flatnonzero(ink.any(1))[[0, -1]], np.flatnonzero(ink.any(0))[[0, -1]]) for ink in inks]
            assert np.abs(boxes[0][0] - boxes[1][0]).max() <= 1, (text.get_text(), boxes)  # rows
            assert np.abs(boxes[0][1] - boxes[1][1]).max() <= 2, (text.get_text(), boxes)  # columns
            assert inks[1].sum() == pytest.approx(inks[0].sum(), rel=0.03), text.get_text()
            checked += 1
    assert checked >= 5  # every explorer's note at least


@pytest.mark.parametrize("name", list(EXPLORERS))
def test_without_matplotlib_311s_glyph_methods_text_is_drawn_the_ordinary_way(name, monkeypatch):
    """Colab's matplotlib 3.10 and older hubs lack the private FT2Font methods TextRuns uses: every
    text then goes through matplotlib, and the explorer still redraws when a control moves."""
    from lossviz.widgets import _frames
    monkeypatch.setattr(_frames, "FAST_TEXT", False)
    explorer = EXPLORERS[name]("en")
    before = explorer.image.value
    control = next(c for c in explorer.controls.values() if hasattr(c, "options") or hasattr(c, "max"))
    if hasattr(control, "options"):
        control.value = [v for v in (o[1] if isinstance(o, tuple) else o for o in control.options)
                         if v != control.value][0]
    else:
        control.value = control.min + (control.max - control.min) * 0.37
    assert explorer.image.value != before
    assert explorer.live.text_runs.misses == 0 and explorer.live.text_runs.hits == 0


def test_frame_is_the_canvas_in_64_colours(explorer):
    """The palette frame keeps white and black exact and every pixel close to what was drawn."""
    drawn = np.asarray(explorer.figure.canvas.buffer_rgba())[..., :3].astype(int)
    sent = _pixels(explorer.image.value)
    assert sent.shape == drawn.shape
    white = (drawn == 255).all(-1)
    assert (sent[white] == 255).all()
    error = np.abs(sent - drawn)
    assert error.mean() < 1.0 and np.percentile(error.max(-1), 99) < 24, (error.mean(), error.max())


def test_a_new_colour_on_a_real_area_gets_its_own_palette_entry():
    from lossviz.widgets._frames import PaletteEncoder
    explorer = EXPLORERS["precision_explorer"]("en")
    encoder = PaletteEncoder()
    canvas = explorer.figure.canvas
    encoder.encode(canvas)
    pixels = np.asarray(canvas.buffer_rgba())
    pixels[40:80, 100:200, :3] = (200, 30, 240)  # a purple no part of the figure uses
    decoded = _pixels(encoder.encode(canvas))
    assert encoder.learned == 2
    assert np.abs(decoded[40:80, 100:200] - (200, 30, 240)).max() <= 8


def test_a_setting_seen_before_is_sent_again_without_drawing():
    explorer = EXPLORERS["softmax_explorer"]("en")
    calls = []
    compute = explorer.compute
    explorer.compute = lambda **values: calls.append(values) or compute(**values)
    slider = explorer.controls["classes"]
    first = explorer.image.value
    slider.value = 7
    seven = explorer.image.value
    slider.value = 3
    assert explorer.image.value == first and len(calls) == 1  # 3 was drawn when the explorer was built
    slider.value = 7
    assert explorer.image.value == seven and len(calls) == 1 and explorer.data["classes"] == 7
    # the artists follow the kept frame: the snapshot for the notebook shows K = 7
    assert sum(label.get_visible() for label in explorer.log_bars.labels) == 7


def test_a_fast_drag_from_the_browser_draws_only_the_latest_value():
    """Messages from the frontend that arrive while the kernel is busy are not drawn one by one:
    they join one draw on the event loop, which shows the last value (issue 11: a fast drag never
    queues stale frames)."""
    import asyncio
    explorer = EXPLORERS["label_smoothing_explorer"]("en")
    explorer.frames_kept = 0
    slider = explorer.controls["epsilon"]
    values = [round(0.03 * step, 2) for step in range(1, 25)]
    sent = explorer.frames_sent

    async def drag():
        for value in values:
            slider.set_state({"value": value})  # how ipywidgets applies a comm message from the browser
            await asyncio.sleep(0)  # the kernel's event loop turns between two messages
        await asyncio.sleep(0.2)

    asyncio.run(drag())
    frames = explorer.frames_sent - sent
    assert 1 <= frames < len(values) // 2, frames
    assert explorer.pacer.coalesced >= len(values) - frames - 1
    assert explorer.values()["epsilon"] == values[-1] and explorer.data["epsilon"] == values[-1]
    assert explorer.controls["epsilon_text"].value == box_text(values[-1])
    fresh = EXPLORERS["label_smoothing_explorer"]("en")
    fresh.controls["epsilon"].value = values[-1]
    assert np.abs(_pixels(explorer.image.value) - _pixels(fresh.image.value)).mean() < 0.5


def test_a_change_made_from_code_is_drawn_at_once_even_inside_the_kernel_loop():
    import asyncio
    explorer = EXPLORERS["label_smoothing_explorer"]("en")
    slider = explorer.controls["epsilon"]

    async def cell():  # a notebook cell runs inside the kernel's event loop
        for value in (0.2, 0.3, 0.4):
            slider.value = value
            assert explorer.data["epsilon"] == value  # read back in the same cell
        return explorer.pacer.coalesced

    assert asyncio.run(cell()) == 0


def _browser_steps(control, start, count):
    """The values a browser slider sends for ``count`` arrow presses from ``start``, computed as
    the frontend does (grid index times step in floating point, a log slider through pow)."""
    kind = type(control).__name__
    position = math.log10(start) if kind == "FloatLogSlider" else start
    index = round((position - control.min) / control.step)
    values = []
    for offset in range(1, count + 1):
        point = control.min + (index + offset) * control.step
        values.append(10 ** point if kind == "FloatLogSlider" else (int(point) if kind == "IntSlider" else point))
    return values


@pytest.mark.parametrize("name,setting", [("overflow_explorer", "label"), ("precision_explorer", "label"),
                                          ("softmax_explorer", "classes"), ("softmax_explorer", "spread"),
                                          ("label_smoothing_explorer", "epsilon"), ("pos_weight_explorer", "pos_weight"),
                                          ("pos_weight_explorer", "positive_share")])
def test_the_next_arrow_press_is_served_by_a_frame_drawn_ahead(name, setting):
    """After a slider moved in the browser, the kernel draws the settings one step either side while
    it is idle: the next press is sent from the kept frames, without computing, and shows exactly
    what a fresh explorer draws for that setting; the figure itself stays at the current setting."""
    import asyncio
    explorer = EXPLORERS[name]("en")
    control = explorer.controls[setting]
    first, second = _browser_steps(control, control.value, 2)
    computed = []
    compute = explorer.compute
    explorer.compute = lambda **values: computed.append(values) or compute(**values)

    async def presses():
        control.set_state({"value": first})  # how ipywidgets applies a comm message from the browser
        await asyncio.sleep(0.3)  # the kernel idle: the neighbours are drawn ahead
        snapshot_between = explorer.live.snapshot()[0]
        before = len(computed)
        control.set_state({"value": second})
        return snapshot_between, len(computed) - before

    snapshot_between, computed_on_press = asyncio.run(presses())
    assert explorer.prefetcher.drawn >= 1
    assert computed_on_press == 0 and explorer.frames_reused == 1
    drawn = explorer.values()[setting]
    fresh = EXPLORERS[name]("en")
    fresh.controls[setting].value = drawn
    assert explorer.image.value == fresh.image.value
    assert explorer.values() == fresh.values()
    # while the frames were drawn ahead, the figure (and so a notebook's snapshot) showed the first press
    at_first = EXPLORERS[name]("en")
    at_first.controls[setting].value = slider_value(control, first)
    assert snapshot_between == at_first.live.snapshot()[0]


def test_changes_from_code_draw_nothing_ahead():
    """A notebook executed top to bottom draws exactly what its cells set: nothing ahead."""
    import asyncio
    explorer = EXPLORERS["overflow_explorer"]("en")

    async def cell():
        explorer.controls["label"].value = 0.25
        await asyncio.sleep(0.2)

    asyncio.run(cell())
    assert explorer.prefetcher.drawn == 0 and len(explorer._kept) == 2  # the first frame and 0.25


def test_the_frame_goes_to_the_browser_before_the_boxes_text():
    """The box's new text would cost the browser work before the frame it waits for: it goes after."""
    sent = []

    class Comm:  # a frontend connected through a kernel, recording what each widget sends
        kernel = object()

        def __init__(self, model):
            self.model = model
            self.comm_id = f"comm-{model}"

        def on_msg(self, callback):
            pass

        def close(self, *args, **kwargs):
            pass

        def send(self, data=None, buffers=None, **_):
            if data and data.get("method") == "update":
                sent.append(self.model)

    explorer = EXPLORERS["pos_weight_explorer"]("en")
    widgets = {"image": explorer.image, **explorer.controls}
    for name, widget in widgets.items():
        widget.comm = Comm(name)
    explorer.controls["pos_weight"].set_state({"value": 10 ** 0.5})
    assert "image" in sent and "pos_weight_text" in sent
    assert sent.index("image") < sent.index("pos_weight_text"), sent
    assert explorer.controls["pos_weight_text"].value == "3.162"


def test_neighbours_are_one_grid_step_either_side_inside_the_range():
    from lossviz.widgets._prefetch import neighbours
    explorer = EXPLORERS["pos_weight_explorer"]("en")
    log_slider = explorer.controls["pos_weight"]  # 10^-1 .. 10^2, step 0.05
    assert neighbours(log_slider, 19.0) == [22.39, 17.78]  # typed 19 sits at 10^1.3 on the grid
    assert neighbours(log_slider, 100.0) == [89.13]  # the top end: only down
    assert neighbours(log_slider, 19.0, direction=-1) == [17.78, 22.39]
    label = EXPLORERS["overflow_explorer"]("en").controls["label"]  # 0 .. 1, step 0.05
    assert neighbours(label, 0.3) == [0.35, 0.25] and neighbours(label, 0.0) == [0.05]
    classes = EXPLORERS["softmax_explorer"]("en").controls["classes"]
    assert neighbours(classes, 10) == [9] and neighbours(classes, 5, -1) == [4, 6]
    assert neighbours(classes, float("nan")) == [] and neighbours(ipywidgets.Dropdown(options=["a"]), "a") == []


def test_a_slider_box_follows_a_browser_move_just_after_the_frame_and_a_typed_value_wins():
    import asyncio
    from lossviz.widgets._explorer import READOUT_DELAY_S
    explorer = EXPLORERS["pos_weight_explorer"]("en")
    slider, box = explorer.controls["pos_weight"], explorer.controls["pos_weight_text"]

    async def moves():
        slider.set_state({"value": 10 ** 0.5})
        at_frame = box.value  # the frame is out, the box follows a moment later
        await asyncio.sleep(READOUT_DELAY_S + 0.1)
        followed = box.value
        slider.set_state({"value": 10 ** 0.55})
        box.set_state({"value": "5"})  # typed before the box followed the slider
        await asyncio.sleep(READOUT_DELAY_S + 0.1)
        return at_frame, followed

    at_frame, followed = asyncio.run(moves())
    assert at_frame == "1" and followed == "3.162"
    assert box.value == "5" and explorer.values()["pos_weight"] == 5.0


@pytest.mark.parametrize("name", sorted(EXPLORERS))
def test_a_frame_from_the_cached_layers_equals_one_drawn_from_scratch(name):
    """The frame sent after any sequence of changes is the frame a fresh draw of the same artists
    gives (the cached layer must not change what lies over what where curves cross)."""
    explorer = EXPLORERS[name]("en")
    explorer.frames_kept = 0
    for control_name, control in explorer.controls.items():
        if isinstance(control, NumberBox):
            continue
        for _ in range(2):
            control.value = other_value(explorer, control_name, control)
            sent = _pixels(explorer.image.value)
            explorer.live.draw(True)  # the background, then every data artist in order
            assert np.array_equal(sent, _pixels(explorer.live.encoder.encode(explorer.live.canvas))), control_name
