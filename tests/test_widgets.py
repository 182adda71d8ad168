"""Explorers, headless: no kernel, no browser. Set each control's .value as a person would move it,
then check the plotted data and the PNG; extreme typed values; both languages; the display bundle."""
import base64
import io
import warnings

import numpy as np
import pytest
import torch
from PIL import Image

from lossviz import numerics
from lossviz.widgets import EXPLORERS


@pytest.fixture(params=sorted(EXPLORERS), scope="module")
def explorer(request):
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # a glyph warning or a matplotlib warning fails here
        return EXPLORERS[request.param]("en")


def other_value(control):
    """A different, valid value for any control."""
    options = getattr(control, "options", None)
    if options:
        values = [o[1] if isinstance(o, tuple) else o for o in options]
        return next(v for v in values if v != control.value)
    if type(control).__name__ == "FloatText":
        return control.value * 1.5
    if type(control).__name__ == "FloatLogSlider":
        return control.base ** ((control.min + control.max) / 2 + 0.3) if control.value != control.base ** (
            (control.min + control.max) / 2 + 0.3) else control.base ** control.min
    middle = control.min + (control.max - control.min) * 0.7
    value = int(round(middle)) if type(control).__name__ == "IntSlider" else middle
    return value if value != control.value else control.min


def test_every_control_visibly_changes_the_figure(explorer):
    for name, control in explorer.controls.items():
        before_png, before_value = explorer.image.value, control.value
        control.value = other_value(control)
        assert explorer.message.value == "", (name, explorer.message.value)
        assert explorer.last_error is None
        assert explorer.image.value != before_png, f"{explorer.name}: moving {name} left the PNG unchanged"
        control.value = before_value


def test_png_is_the_live_figure(explorer):
    image = Image.open(io.BytesIO(explorer.image.value))
    width, height = explorer.figure.canvas.get_width_height()
    assert image.size == (width, height)
    assert len(set(np.asarray(image.convert("L")).ravel().tolist())) > 10  # not blank


def test_display_bundle(explorer):
    bundle = explorer._repr_mimebundle_()
    assert set(bundle) >= {"application/vnd.jupyter.widget-view+json", "image/png", "text/plain"}
    assert base64.b64decode(bundle["image/png"]) == explorer.image.value
    assert bundle["text/plain"].startswith(explorer.name + "(") and "0x" not in bundle["text/plain"]
    assert bundle["text/plain"] == explorer._repr_mimebundle_()["text/plain"]  # stable for nbval


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
    # the shaded inf region starts at the saturation point
    (inf_mask, _), (nan_mask, _) = data["inf"], data["nan"]
    assert x[inf_mask].min() >= upper and nan_mask[x <= lower].all()


def test_overflow_dtype_moves_the_saturation_lines():
    explorer = EXPLORERS["overflow_explorer"]("en")
    explorer.controls["dtype"].value = "float16"
    assert explorer.data["saturation"] == numerics.sigmoid_saturation(torch.float16)
    line = explorer.saturation_lines[0]
    assert line.get_xdata()[0] == numerics.sigmoid_saturation(torch.float16)[0] and line.get_visible()


@pytest.mark.parametrize("typed", [1e30, -1e30, 0.0, -5.0, float("nan"), float("inf")])
@pytest.mark.parametrize("language", ["en", "ko"])
def test_overflow_extreme_range_shows_a_message_and_keeps_the_figure(typed, language):
    explorer = EXPLORERS["overflow_explorer"](language)
    png, data = explorer.image.value, explorer.data
    explorer.controls["logit_range"].value = typed
    assert explorer.message.value and "Traceback" not in explorer.message.value
    assert ("must" in explorer.message.value) if language == "en" else ("값은" in explorer.message.value)
    assert explorer.image.value == png and explorer.data is data
    explorer.controls["logit_range"].value = 50.0  # recovers
    assert explorer.message.value == "" and explorer.data["bound"] == 50.0


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
    explorer.controls["spread"].value = 1000.0
    explorer.controls["target"].value = 1
    data = explorer.data
    assert np.isneginf(data["log_p"]["naive"][1:]).all()
    assert np.allclose(data["log_p"]["stable"], [0, -1000, -2000])
    assert np.isinf(data["loss"]["naive"]) and data["loss"]["stable"] == 1000.0
    assert np.isnan(data["grad"]["naive"]).any()
    assert np.allclose(data["grad"]["stable"], [1, -1, 0])
    assert any(mark.get_visible() and mark.get_text() == "−∞" for mark in explorer.marks["log"])


def test_softmax_target_follows_the_number_of_classes():
    explorer = EXPLORERS["softmax_explorer"]("en")
    explorer.controls["classes"].value = 8
    explorer.controls["target"].value = 7
    explorer.controls["classes"].value = 3
    assert explorer.controls["target"].max == 2 and explorer.controls["target"].value == 2
    assert explorer.message.value == "" and len(explorer.data["grad"]["stable"]) == 3
    visible = [bar for bar in explorer.log_bars.series["stable"] if bar.get_visible()]
    assert len(visible) == 3


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
    explorer.controls["margin"].value = round(optimum, 1)
    assert np.abs(explorer.data["gradient"]).max() < 0.01  # p = t: the gradient vanishes
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
    assert explorer.controls["pos_weight_text"].value == 10.0  # the typed box follows the slider


def test_pos_weight_moves_the_boundary_toward_the_negatives():
    explorer = EXPLORERS["pos_weight_explorer"]("en")
    explorer.controls["positive_share"].value = 0.05
    explorer.controls["pos_weight"].value = 1.0
    plain, plain_best, plain_best_p = explorer.data["boundary"], explorer.data["best"], explorer.data["best_probability"]
    explorer.controls["pos_weight"].value = 19.0
    assert explorer.data["boundary"] < plain - 1.0
    assert explorer.data["boundary_plain"] == pytest.approx(plain)
    # the F1-best threshold on the feature is set by the ranking, which pos_weight does not change;
    # on the probability scale it moves up, because every probability moved up
    assert explorer.data["best"] == plain_best
    assert explorer.data["best_probability"] > plain_best_p + 0.2


@pytest.mark.parametrize("typed", [-1.0, 0.0, float("nan"), 1e30, -1e30])
def test_pos_weight_typed_nonsense_shows_a_message(typed):
    explorer = EXPLORERS["pos_weight_explorer"]("ko")
    png, slider_value = explorer.image.value, explorer.controls["pos_weight"].value
    explorer.controls["pos_weight_text"].value = typed
    assert "pos_weight" in explorer.message.value and explorer.image.value == png
    assert explorer.controls["pos_weight"].value == slider_value
    explorer.controls["pos_weight_text"].value = 4.0
    assert explorer.message.value == "" and explorer.controls["pos_weight"].value == 4.0
