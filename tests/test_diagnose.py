"""lossviz.diagnose: each finding code is triggered by its mistake and cleared by the fix; correct
training loops from the notebooks give no finding; the computation and autograd are unchanged."""
import math
import warnings

import pytest
import torch
import torch.nn.functional as F
from torch import nn

import lossviz
from lossviz import LossvizWarning, diagnose
from lossviz.diagnose import CODES, Finding


def codes_of(function, **options):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", LossvizWarning)
        with diagnose(max_overhead=None, **options) as report:
            function()
    return report.codes


@pytest.fixture
def korean():
    lossviz.set_language("ko")
    yield
    lossviz.set_language("en")


generator = torch.Generator().manual_seed(0)
LOGITS = torch.randn(16, 5, generator=generator)
CLASSES = torch.randint(0, 5, (16,), generator=generator)
SCORES = torch.randn(16, generator=generator) * 3
LABELS = (torch.rand(16, generator=generator) < 0.5).float()


# --- each code: triggered by the mistake, cleared by the fix ------------------------------------

MISTAKES = {
    "double-sigmoid": (lambda: nn.BCEWithLogitsLoss()(torch.sigmoid(SCORES.detach().requires_grad_()), LABELS),
                       lambda: nn.BCEWithLogitsLoss()(SCORES, LABELS)),
    "double-softmax": (lambda: nn.CrossEntropyLoss()(torch.softmax(LOGITS, 1), CLASSES),
                       lambda: nn.CrossEntropyLoss()(LOGITS, CLASSES)),
    "sigmoid-bce": (lambda: nn.BCELoss()(torch.sigmoid(SCORES), LABELS),
                    lambda: nn.BCEWithLogitsLoss()(SCORES, LABELS)),
    "log-of-softmax": (lambda: F.nll_loss(torch.log(torch.softmax(100 * LOGITS, 1)), CLASSES),
                       lambda: F.nll_loss(torch.log_softmax(100 * LOGITS, 1), CLASSES)),
    "all-ignored": (lambda: F.cross_entropy(LOGITS, torch.full_like(CLASSES, -100)),
                    lambda: F.cross_entropy(LOGITS, torch.where(CLASSES == 0, -100, CLASSES))),
    "target-range": (lambda: F.binary_cross_entropy_with_logits(SCORES, 2 * LABELS),
                     lambda: F.binary_cross_entropy_with_logits(SCORES, LABELS)),
    "nll-without-log-softmax": (lambda: nn.NLLLoss()(torch.softmax(LOGITS, 1), CLASSES),
                                lambda: nn.NLLLoss()(nn.LogSoftmax(dim=1)(LOGITS), CLASSES)),
}


def test_every_code_has_a_mistake_here():
    assert set(MISTAKES) == set(CODES)


@pytest.mark.parametrize("code", sorted(MISTAKES))
def test_the_mistake_is_found(code):
    assert codes_of(MISTAKES[code][0]) == [code]


@pytest.mark.parametrize("code", sorted(MISTAKES))
def test_the_fix_is_clean(code):
    assert codes_of(MISTAKES[code][1]) == []


def test_double_sigmoid_without_autograd_history_needs_five_calls_in_a_row():
    probabilities = torch.sigmoid(SCORES)  # no grad: only the values can tell
    loss = nn.BCEWithLogitsLoss()
    assert codes_of(lambda: [loss(probabilities, LABELS) for _ in range(4)]) == []
    assert codes_of(lambda: [loss(probabilities, LABELS) for _ in range(5)]) == ["double-sigmoid"]
    # a call with real logits in between resets the count
    interrupted = [probabilities] * 3 + [SCORES] + [probabilities] * 3
    assert codes_of(lambda: [loss(x, LABELS) for x in interrupted]) == []


def test_double_sigmoid_through_a_model_and_a_reshape():
    model = nn.Sequential(nn.Linear(3, 1), nn.Sigmoid())
    x = torch.randn(8, 3)
    assert codes_of(lambda: nn.BCEWithLogitsLoss()(model(x).squeeze(1), LABELS[:8])) == ["double-sigmoid"]


@pytest.mark.parametrize("dtype", [torch.float16, torch.bfloat16, torch.float32, torch.float64])
@pytest.mark.parametrize("classes", [2, 10, 1000])
def test_double_softmax_tolerance_fits_each_dtype(dtype, classes):
    logits = (torch.randn(32, classes, generator=torch.Generator().manual_seed(1)) * 3).to(dtype)
    target = torch.zeros(32, dtype=torch.long)
    assert codes_of(lambda: F.cross_entropy(torch.softmax(logits, 1), target)) == ["double-softmax"]
    assert codes_of(lambda: F.cross_entropy(logits, target)) == []
    # logits that are non-negative but do not sum to 1 are not probabilities
    assert codes_of(lambda: F.cross_entropy(logits.abs() + 0.01, target)) == []


def test_double_softmax_for_probability_targets_and_unbatched_input():
    soft_targets = torch.softmax(torch.randn(16, 5), 1)
    assert codes_of(lambda: F.cross_entropy(torch.softmax(LOGITS, 1), soft_targets)) == ["double-softmax"]
    assert codes_of(lambda: F.cross_entropy(LOGITS, soft_targets)) == []
    assert codes_of(lambda: F.cross_entropy(torch.softmax(LOGITS[0], 0), CLASSES[0])) == ["double-softmax"]


def test_cross_entropy_after_log_softmax_is_not_a_mistake():
    assert codes_of(lambda: F.cross_entropy(torch.log_softmax(LOGITS, 1), CLASSES)) == []


def test_sigmoid_bce_is_escalated_where_inputs_are_exactly_0_or_1():
    with diagnose(max_overhead=None, warn=False) as report:
        nn.BCELoss()(torch.sigmoid(torch.tensor([30.0, -5.0])), torch.tensor([0.0, 0.0]))
    assert report.codes == ["sigmoid-bce", "sigmoid-bce"]
    assert report.findings[1].evidence["saturated"] == 1
    assert "100" in report.findings[1].message
    # saturated but agreeing with the label (p = 1, y = 1) is a loss of 0, not a stall
    with diagnose(max_overhead=None, warn=False) as report:
        nn.BCELoss()(torch.sigmoid(torch.tensor([30.0])), torch.tensor([1.0]))
    assert report.codes == ["sigmoid-bce"]


def test_log_of_sigmoid_by_hand_reaches_binary_cross_entropy_with_logits():
    log_probability = torch.log(torch.sigmoid(torch.tensor([-200.0, 1.0])))  # -inf, finite
    assert codes_of(lambda: F.binary_cross_entropy_with_logits(log_probability, torch.ones(2))) == \
        ["log-of-softmax"]


def test_nan_in_cross_entropy_logits():
    logits = LOGITS.clone()
    logits[3, 2] = math.nan
    assert codes_of(lambda: F.cross_entropy(logits, CLASSES)) == ["log-of-softmax"]


def test_masked_logits_with_minus_inf_are_fine():
    # -inf on classes that are not allowed is a common, correct mask
    logits = LOGITS.clone()
    logits[:, 4] = -math.inf
    target = CLASSES.clamp(max=3)
    assert codes_of(lambda: F.cross_entropy(logits, target)) == []
    assert codes_of(lambda: F.nll_loss(torch.log_softmax(logits, 1), target)) == []
    # ... unless the target is a masked class: the loss is infinite
    assert codes_of(lambda: F.cross_entropy(logits, torch.full_like(target, 4))) == ["log-of-softmax"]


def test_nll_on_raw_logits_is_found_by_value():
    assert codes_of(lambda: F.nll_loss(LOGITS, CLASSES)) == ["nll-without-log-softmax"]
    shifted = torch.log_softmax(LOGITS, 1) - 1.0  # all negative, but not log-probabilities
    assert codes_of(lambda: F.nll_loss(shifted, CLASSES)) == ["nll-without-log-softmax"]


def test_all_ignored_with_a_custom_ignore_index_and_sequence_shape():
    logits = torch.randn(2, 5, 7)  # (N, C, sequence)
    padding = torch.zeros(2, 7, dtype=torch.long)
    assert codes_of(lambda: F.cross_entropy(logits, padding, ignore_index=0)) == ["all-ignored"]
    assert codes_of(lambda: nn.CrossEntropyLoss(ignore_index=0)(logits, padding + 1)) == []


def test_low_level_functions_are_seen_too():
    assert codes_of(lambda: torch.binary_cross_entropy_with_logits(torch.sigmoid(SCORES), 3 * LABELS)) == \
        ["target-range"]
    assert codes_of(lambda: torch._C._nn.nll_loss(LOGITS, CLASSES)) == ["nll-without-log-softmax"]


# --- the report and the warnings ----------------------------------------------------------------

def test_one_finding_and_one_warning_per_kind():
    with pytest.warns(LossvizWarning) as caught:
        with diagnose(max_overhead=None) as report:
            for _ in range(10):
                F.cross_entropy(torch.softmax(LOGITS, 1), CLASSES)
    assert report.codes == ["double-softmax"] and report.calls == 10
    assert len([w for w in caught if issubclass(w.category, LossvizWarning)]) == 1
    assert issubclass(LossvizWarning, UserWarning)
    assert caught[0].filename == __file__  # the warning points at the student's line


def test_finding_fields():
    with diagnose(max_overhead=None, warn=False) as report:
        F.cross_entropy(torch.softmax(LOGITS, 1).detach(), CLASSES)
    (finding,) = report.findings
    assert isinstance(finding, Finding) and finding.code == "double-softmax"
    assert finding.section == "11_common_mistakes §2"
    assert finding.evidence["max_abs_row_sum_minus_1"] <= finding.evidence["tolerance"]
    assert "softmax" in finding.message and finding.code in str(finding)


def test_messages_in_korean(korean):
    with diagnose(max_overhead=None, warn=False) as report:
        F.cross_entropy(torch.softmax(LOGITS, 1), CLASSES)
        F.cross_entropy(LOGITS, torch.full_like(CLASSES, -100))
    assert "소프트맥스" in report.findings[0].message
    assert "타깃이 모두" in report.findings[1].message
    assert "손실 호출" in repr(diagnose().report)


def test_an_empty_report_says_so():
    with diagnose(max_overhead=None) as report:
        F.cross_entropy(LOGITS, CLASSES)
    assert report.findings == [] and "No findings in 1 loss call" in repr(report)


@pytest.mark.parametrize("options, error", [({"warn": "yes"}, TypeError), ({"max_overhead": 0}, ValueError),
                                            ({"max_overhead": "1%"}, ValueError)])
def test_bad_arguments(options, error):
    with pytest.raises(error, match="diagnose"):
        diagnose(**options)


def test_the_default_budget_still_reads_the_first_call():
    with diagnose(warn=False) as report:
        F.cross_entropy(torch.softmax(LOGITS, 1).detach(), CLASSES)
    assert report.codes == ["double-softmax"]


# --- the computation is unchanged --------------------------------------------------------------

def test_values_and_gradients_are_unchanged():
    def step():
        torch.manual_seed(0)
        model = nn.Sequential(nn.Linear(5, 8), nn.ReLU(), nn.Linear(8, 5))
        loss = F.cross_entropy(model(LOGITS), CLASSES, label_smoothing=0.1)
        loss.backward()
        return loss.detach(), [p.grad for p in model.parameters()]

    plain_loss, plain_grads = step()
    with diagnose(max_overhead=None) as report:
        watched_loss, watched_grads = step()
    assert report.calls == 1 and report.findings == []
    assert torch.equal(plain_loss, watched_loss)
    assert all(torch.equal(a, b) for a, b in zip(plain_grads, watched_grads))


def test_second_derivatives_and_torch_func():
    x = SCORES.clone().requires_grad_()
    with diagnose(max_overhead=None, warn=False) as report:
        loss = F.binary_cross_entropy_with_logits(x, LABELS)
        (gradient,) = torch.autograd.grad(loss, x, create_graph=True)
        gradient.sum().backward()
        by_func = torch.func.grad(lambda z: F.binary_cross_entropy_with_logits(z, LABELS))(SCORES)
        per_sample = torch.func.vmap(lambda z, y: F.cross_entropy(z, y))(LOGITS, CLASSES)
    assert report.findings == []
    assert torch.allclose(by_func, (torch.sigmoid(SCORES) - LABELS) / len(SCORES))
    assert torch.allclose(per_sample, F.cross_entropy(LOGITS, CLASSES, reduction="none"))
    with diagnose(max_overhead=None, warn=False) as report:
        torch.func.grad(lambda z: F.binary_cross_entropy_with_logits(torch.sigmoid(z), LABELS))(SCORES)
    assert report.codes == ["double-sigmoid"]  # no values inside the transform, but the history shows


def test_meta_tensors_get_the_structural_checks_only():
    logits = torch.randn(8, 5, device="meta", requires_grad=True)
    target = torch.zeros(8, dtype=torch.long, device="meta")
    assert codes_of(lambda: F.cross_entropy(logits, target)) == []
    assert codes_of(lambda: F.cross_entropy(torch.softmax(logits, 1), target)) == ["double-softmax"]


def test_fake_tensors():
    from torch._subclasses.fake_tensor import FakeTensorMode

    with FakeTensorMode():
        logits, target = torch.randn(8, 5), torch.zeros(8, dtype=torch.long)
        assert codes_of(lambda: F.cross_entropy(logits, target)) == []


ENTRY_POINTS = [(torch, "binary_cross_entropy_with_logits"), (torch._C._nn, "binary_cross_entropy"),
                (torch._C._nn, "cross_entropy_loss"), (torch._C._nn, "nll_loss_nd")]


def test_torch_is_left_as_found():
    before = [getattr(module, name) for module, name in ENTRY_POINTS]
    model = nn.Linear(5, 5)
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
    with diagnose(max_overhead=None, warn=False) as report:
        assert [getattr(module, name) for module, name in ENTRY_POINTS] != before  # watched
        for _ in range(3):
            optimizer.zero_grad()
            F.cross_entropy(model(LOGITS), CLASSES).backward()
            optimizer.step()
        F.cross_entropy(torch.softmax(LOGITS, 1), CLASSES)
    assert report.calls == 4 and report.codes == ["double-softmax"]
    assert [getattr(module, name) for module, name in ENTRY_POINTS] == before
    with pytest.raises(ZeroDivisionError):
        with diagnose(warn=False):
            1 / 0
    assert [getattr(module, name) for module, name in ENTRY_POINTS] == before
    F.cross_entropy(torch.softmax(LOGITS, 1), CLASSES)  # after the block: nobody counts it
    assert report.calls == 4


def test_losses_imported_by_name_before_the_block_are_seen():
    from torch.nn.functional import binary_cross_entropy_with_logits, cross_entropy, nll_loss

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", LossvizWarning)
        with diagnose(max_overhead=None) as report:
            cross_entropy(torch.softmax(LOGITS, 1), CLASSES)
            binary_cross_entropy_with_logits(SCORES, LABELS * 2)
            nll_loss(LOGITS.abs(), CLASSES)
            nn.BCELoss()(torch.sigmoid(SCORES), LABELS)
    assert sorted(report.codes) == ["double-softmax", "nll-without-log-softmax", "sigmoid-bce", "target-range"]


def test_nested_blocks_both_see_the_inner_losses():
    with diagnose(max_overhead=None, warn=False) as outer:
        F.cross_entropy(LOGITS, CLASSES)
        with diagnose(max_overhead=None, warn=False) as inner:
            F.cross_entropy(torch.softmax(LOGITS, 1), CLASSES)
        F.binary_cross_entropy_with_logits(SCORES, LABELS * 2)
    assert (outer.calls, outer.codes) == (3, ["double-softmax", "target-range"])
    assert (inner.calls, inner.codes) == (1, ["double-softmax"])
    block = diagnose(warn=False)
    with block:
        with pytest.raises(RuntimeError, match="already open"):
            block.__enter__()


def test_other_threads_are_not_watched():
    import threading

    with diagnose(max_overhead=None, warn=False) as report:
        worker = threading.Thread(target=lambda: F.cross_entropy(torch.softmax(LOGITS, 1), CLASSES))
        worker.start()
        worker.join()
        F.cross_entropy(LOGITS, CLASSES)
    assert (report.calls, report.codes) == (1, [])


# --- no finding on the notebooks' correct training loops ---------------------------------------

def loop_03_logits_form():
    """Notebook 03: a linear model trained with BCEWithLogitsLoss by SGD; the GAN discriminator."""
    generator = torch.Generator().manual_seed(3)
    points = torch.randn(200, 3, generator=generator)
    labels = (points @ torch.tensor([1.5, -2.0, 1.0]) > 0).float()
    model = nn.Linear(3, 1)
    optimizer = torch.optim.SGD(model.parameters(), lr=5.0)
    for _ in range(30):
        loss = F.binary_cross_entropy_with_logits(model(points).squeeze(1), labels)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    discriminator = nn.Sequential(nn.Linear(2, 16), nn.LeakyReLU(0.2), nn.Linear(16, 1))
    generator_net = nn.Sequential(nn.Linear(2, 16), nn.ReLU(), nn.Linear(16, 2))
    real = torch.randn(64, 2, generator=generator) * 0.5 + 2
    fake = generator_net(torch.randn(64, 2, generator=generator))
    criterion = nn.BCEWithLogitsLoss()
    real_logits, fake_logits = discriminator(real), discriminator(fake.detach())
    (criterion(real_logits, torch.ones_like(real_logits))
     + criterion(fake_logits, torch.zeros_like(fake_logits))).backward()
    criterion(discriminator(fake), torch.ones_like(fake_logits)).backward()


def loop_05_label_smoothing():
    """Notebook 05: a 4-class MLP trained with F.cross_entropy and label smoothing."""
    generator = torch.Generator().manual_seed(5)
    y = torch.randint(0, 4, (400,), generator=generator)
    x = torch.randn(400, 8, generator=generator) + F.one_hot(y, 8).float() * 1.5
    for epsilon in (0.0, 0.1):
        torch.manual_seed(0)
        model = nn.Sequential(nn.Linear(8, 64), nn.ReLU(), nn.Linear(64, 4))
        optimizer = torch.optim.Adam(model.parameters(), lr=0.01)
        for _ in range(30):
            optimizer.zero_grad()
            F.cross_entropy(model(x), y, label_smoothing=epsilon).backward()
            optimizer.step()


def loop_06_imbalance_weights():
    """Notebook 06: logistic regression with pos_weight on 3% positives."""
    generator = torch.Generator().manual_seed(6)
    y = (torch.rand(2000, generator=generator) < 0.03).float()
    x = torch.randn(2000, 5, generator=generator) + y.unsqueeze(1)
    for pos_weight in (None, 32.0 ** 0.5, 32.0):
        torch.manual_seed(0)
        model = nn.Linear(5, 1)
        optimizer = torch.optim.Adam(model.parameters(), lr=0.1)
        weight = None if pos_weight is None else torch.tensor([pos_weight])
        for _ in range(40):
            optimizer.zero_grad()
            F.binary_cross_entropy_with_logits(model(x).squeeze(1), y, pos_weight=weight).backward()
            optimizer.step()


def loop_09_regression():
    """Notebook 09: a line fitted with MSE / L1 / Huber, and a small network on a curve."""
    generator = torch.Generator().manual_seed(9)
    x = torch.rand(40, generator=generator) * 10
    y = 2 * x + 1 + 0.5 * torch.randn(40, generator=generator)
    for loss_fn in (F.mse_loss, F.l1_loss, F.huber_loss):
        slope_intercept = torch.zeros(2, requires_grad=True)
        optimizer = torch.optim.Adam([slope_intercept], lr=0.2)
        for _ in range(30):
            optimizer.zero_grad()
            loss_fn(slope_intercept[0] * x + slope_intercept[1], y).backward()
            optimizer.step()
    x_curve = torch.rand(128, 1, generator=generator) * 4 - 2
    model = nn.Sequential(nn.Linear(1, 32), nn.ReLU(), nn.Linear(32, 1))
    optimizer = torch.optim.SGD(model.parameters(), lr=0.07)
    for _ in range(30):
        optimizer.zero_grad()
        F.mse_loss(model(x_curve), torch.sin(2 * x_curve)).backward()
        optimizer.step()


def loop_10_mini_project():
    """Notebook 10: one loop, four problems (regression, imbalanced binary, multi-label, multi-class)."""
    def train(model, loss_fn, data, steps=30):
        inputs, targets = data
        optimizer = torch.optim.Adam(model.parameters(), lr=0.02)
        for _ in range(steps):
            optimizer.zero_grad()
            loss = loss_fn(model(inputs), targets)
            loss.backward()
            optimizer.step()

    def make_model(inputs, outputs):
        torch.manual_seed(0)
        return nn.Sequential(nn.Linear(inputs, 32), nn.ReLU(), nn.Linear(32, outputs))

    generator = torch.Generator().manual_seed(10)
    features = torch.randn(600, 8, generator=generator)
    values = features @ torch.randn(8, 1, generator=generator)
    train(make_model(8, 1), nn.MSELoss(), (features, (values - values.mean()) / values.std()))
    labels = (torch.rand(1000, 1, generator=generator) < 0.05).float()
    points = torch.randn(1000, 2, generator=generator) + 1.5 * labels
    pos_weight = (len(labels) - labels.sum()) / labels.sum()
    train(make_model(2, 1), nn.BCEWithLogitsLoss(pos_weight=pos_weight), (points, labels))
    signals = torch.randn(1000, 6, generator=generator)
    tags = (torch.rand(1000, 4, generator=generator) < torch.tensor([0.4, 0.2, 0.1, 0.05])).float()
    label_pos_weight = (1 - tags).sum(0) / tags.sum(0)
    train(make_model(6, 4), nn.BCEWithLogitsLoss(pos_weight=label_pos_weight), (signals, tags))
    classes = torch.randint(0, 5, (1000,), generator=generator)
    clouds = torch.randn(1000, 2, generator=generator) + classes.unsqueeze(1)
    train(make_model(2, 5), nn.CrossEntropyLoss(label_smoothing=0.1), (clouds, classes))
    masked = torch.where(torch.rand(1000, generator=generator) < 0.3, -100, classes)  # notebook 07's idea
    train(make_model(2, 5), nn.CrossEntropyLoss(ignore_index=-100), (clouds, masked))


@pytest.mark.parametrize("loop", [loop_03_logits_form, loop_05_label_smoothing, loop_06_imbalance_weights,
                                  loop_09_regression, loop_10_mini_project])
def test_correct_training_loops_give_no_finding(loop):
    with warnings.catch_warnings():
        warnings.simplefilter("error", LossvizWarning)
        with diagnose(max_overhead=None) as report:
            loop()
    assert report.findings == [], report


def test_the_loops_are_watched():
    with diagnose(max_overhead=None, warn=False) as report:
        loop_10_mini_project()
    assert report.calls == 4 * 30  # MSE is not watched; the other four problems are
