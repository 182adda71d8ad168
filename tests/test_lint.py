"""lossviz lint: each code found in the source material's snippets and cleared by their fixes;
notebooks with magics; the markers; the command line's output and exit status."""
import json
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

import lossviz
from lossviz import lint
from lossviz.__main__ import main

ROOT = Path(__file__).resolve().parents[1]


def codes(source):
    return [finding.code for finding in lint.lint_source(textwrap.dedent(source))]


@pytest.fixture
def korean():
    lossviz.set_language("ko")
    yield
    lossviz.set_language("en")


# --- the source material's snippets, and their fixes -------------------------------------------

DISCRIMINATOR = """
    import torch
    import torch.nn as nn

    class Discriminator(nn.Module):
        def __init__(self):
            super().__init__()
            self.main = nn.Sequential(
                nn.Linear(2, 16),
                nn.LeakyReLU(0.2),
                nn.Linear(16, 1),
                nn.Sigmoid(),
            )

        def forward(self, x):
            return self.main(x)

    netD = Discriminator()
    criterion = nn.BCEWithLogitsLoss()
    """


def test_discriminator_ending_in_sigmoid_trained_with_bce_with_logits():
    # no call connects them: the file builds both, which is the mistake
    (finding,) = lint.lint_source(textwrap.dedent(DISCRIMINATOR))
    assert finding.code == "double-sigmoid" and finding.line == 12  # the nn.Sigmoid() line
    assert "BCEWithLogitsLoss (line 19)" in finding.message


def test_discriminator_output_fed_to_the_loss_is_reported_at_the_call():
    source = DISCRIMINATOR + """
    real = torch.randn(8, 2)
    output = netD(real).view(-1)
    errD_real = criterion(output, torch.ones(8))
    """
    (finding,) = lint.lint_source(textwrap.dedent(source))
    assert (finding.code, finding.line, finding.col) == ("double-sigmoid", 23, 13)


def test_a_sigmoid_model_in_a_file_that_builds_both_binary_losses_is_left_to_the_call_rules():
    assert codes(DISCRIMINATOR + """
    other = nn.BCELoss()
    """) == []


def test_discriminator_fixed():
    assert codes(DISCRIMINATOR.replace("nn.Sigmoid(),", "")) == []
    # a Sigmoid model with BCELoss is the other mistake
    assert codes(DISCRIMINATOR.replace("BCEWithLogitsLoss", "BCELoss") + """
    loss = criterion(netD(torch.randn(8, 2)), torch.ones(8, 1))
    """) == ["sigmoid-bce"]


def test_pytorch_docs_bceloss_example_and_its_fix():
    example = """
    m = nn.Sigmoid()
    loss = nn.BCELoss()
    input = torch.randn(3, requires_grad=True)
    target = torch.empty(3).random_(2)
    output = loss(m(input), target)
    output.backward()
    """
    assert codes(example) == ["sigmoid-bce"]
    assert codes("""
    loss = nn.BCEWithLogitsLoss()
    input = torch.randn(3, requires_grad=True)
    target = torch.empty(3).random_(2)
    output = loss(input, target)
    """) == []


@pytest.mark.parametrize("mistake, fix, code", [
    ("F.binary_cross_entropy_with_logits(torch.sigmoid(z), y)", "F.binary_cross_entropy_with_logits(z, y)",
     "double-sigmoid"),
    ("nn.BCEWithLogitsLoss()(z.sigmoid(), y)", "nn.BCEWithLogitsLoss()(z, y)", "double-sigmoid"),
    ("F.cross_entropy(F.softmax(z, dim=1), y)", "F.cross_entropy(z, y)", "double-softmax"),
    ("nn.CrossEntropyLoss()(z.softmax(-1), y)", "nn.CrossEntropyLoss()(z, y)", "double-softmax"),
    ("F.binary_cross_entropy(torch.sigmoid(z), y)", "F.binary_cross_entropy_with_logits(z, y)", "sigmoid-bce"),
    ("F.nll_loss(torch.softmax(z, 1), y)", "F.nll_loss(torch.log_softmax(z, 1), y)", "nll-without-log-softmax"),
    ("torch.log(torch.softmax(z, 1))", "torch.log_softmax(z, 1)", "log-of-softmax"),
    ("torch.softmax(z, 1).log()", "z.log_softmax(1)", "log-of-softmax"),
    ("torch.log(torch.sigmoid(z))", "F.logsigmoid(z)", "log-of-sigmoid"),
    ("torch.log(1 - torch.sigmoid(z))", "F.logsigmoid(-z)", "log-of-sigmoid"),
    ("torch.log1p(-torch.sigmoid(z))", "torch.log1p(-torch.exp(z))", "log-of-sigmoid"),
])
def test_direct_mistakes_and_fixes(mistake, fix, code):
    assert codes(f"loss = {mistake}\n") == [code]
    assert codes(f"loss = {fix}\n") == []


def test_names_are_followed_through_assignments_and_shape_only_calls():
    assert codes("""
    model = nn.Sequential(nn.Linear(3, 4), nn.Softmax(dim=1))
    criterion = nn.CrossEntropyLoss()
    probabilities = model(x)
    first = probabilities[:, :2].float()
    loss = criterion(first, y)
    """) == ["double-softmax"]
    assert codes("""
    head = nn.Sigmoid()
    p = head(model(x)).squeeze(1)
    loss = F.binary_cross_entropy_with_logits(p, y)
    """) == ["double-sigmoid"]


def test_a_reassigned_name_forgets_what_it_held():
    assert codes("""
    p = torch.sigmoid(z)
    p = z
    loss = F.binary_cross_entropy_with_logits(p, y)
    """) == []


def test_a_model_class_whose_forward_applies_sigmoid():
    assert codes("""
    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.fc = nn.Linear(3, 1)
            self.out = nn.Sigmoid()

        def forward(self, x):
            h = self.fc(x)
            return self.out(h)

    net = Net()
    loss = nn.BCELoss()(net(x), y)
    """) == ["sigmoid-bce"]


def test_a_helper_function_returning_softmax():
    assert codes("""
    def probabilities(z):
        return torch.softmax(z, dim=-1)

    loss = F.cross_entropy(probabilities(z), y)
    """) == ["double-softmax"]


def test_function_parameters_shadow_outer_names():
    assert codes("""
    p = torch.sigmoid(z)
    def step(p, y):
        return F.binary_cross_entropy_with_logits(p, y)
    """) == []


def test_a_softmax_as_the_target_is_fine():
    # distillation: the teacher's probabilities are the target, the student's logits the input
    assert codes("""
    soft = torch.softmax(teacher(x) / 2.0, dim=1)
    loss = F.cross_entropy(student(x), soft)
    loss = F.cross_entropy(input=student(x), target=soft)
    """) == []
    assert codes("loss = F.cross_entropy(input=torch.softmax(z, 1), target=y)\n") == ["double-softmax"]


def test_sigmoid_for_reading_probabilities_is_fine():
    assert codes("""
    model = nn.Sequential(nn.Linear(2, 1))
    loss = nn.BCEWithLogitsLoss()(model(x), y)
    probabilities = torch.sigmoid(model(x))
    predicted = torch.softmax(logits, 1).argmax(1)
    log_probabilities = torch.log_softmax(logits, 1)
    """) == []


# --- markers ----------------------------------------------------------------------------------

def test_markers_silence_one_code_or_all():
    assert codes("loss = F.cross_entropy(torch.softmax(z, 1), y)  # lossviz: ignore[double-softmax]\n") == []
    assert codes("loss = F.cross_entropy(torch.softmax(z, 1), y)  # lossviz: ignore\n") == []
    assert codes("loss = F.cross_entropy(torch.softmax(z, 1), y)  # lossviz: ignore[sigmoid-bce]\n") == \
        ["double-softmax"]
    assert codes("""
    loss = F.binary_cross_entropy(
        torch.sigmoid(z),  # lossviz: ignore[sigmoid-bce, double-sigmoid]
        y)
    """) == []


# --- notebooks, files, command line -------------------------------------------------------------

def notebook(tmp_path, *cells, name="demo.ipynb"):
    content = {"cells": [{"cell_type": kind, "metadata": {}, "source": source, "outputs": []}
                         if kind == "code" else {"cell_type": kind, "metadata": {}, "source": source}
                         for kind, source in cells],
               "metadata": {}, "nbformat": 4, "nbformat_minor": 5}
    path = tmp_path / name
    path.write_text(json.dumps(content))
    return path


def test_notebook_cells_magics_and_names_across_cells(tmp_path):
    path = notebook(tmp_path,
                    ("markdown", "# title"),
                    ("code", "%pip install lossviz\n!ls\nimport torch\ncriterion = nn.BCEWithLogitsLoss()"),
                    ("code", "%%bash\necho not python"),
                    ("code", ["files = !ls\n", "if True:\n", "    %time x = 1\n",
                              "loss = criterion(torch.sigmoid(z), y)\n"]),
                    ("code", "%%time\nlog_p = torch.log(torch.softmax(z, 1))"))
    findings, errors = lint.lint_file(path)
    assert errors == []
    assert [str(f).split(" ")[0] for f in findings] == [f"{path}:cell_3:4:8:", f"{path}:cell_4:2:9:"]
    assert [f.code for f in findings] == ["double-sigmoid", "log-of-softmax"]


def test_syntax_error_is_reported_with_its_cell(tmp_path):
    path = notebook(tmp_path, ("code", "x = (1,"), ("code", "loss = F.cross_entropy(z.softmax(1), y)"))
    findings, errors = lint.lint_file(path)
    assert [f.code for f in findings] == ["double-softmax"]
    assert len(errors) == 1 and errors[0].startswith(f"{path}:cell_1:1:")


def test_exit_status_and_output(tmp_path, capsys):
    bad = tmp_path / "bad.py"
    bad.write_text("import torch.nn.functional as F\nloss = F.cross_entropy(z.softmax(1), y)\n")
    good = tmp_path / "good.py"
    good.write_text("loss = F.cross_entropy(z, y)\n")
    assert main(["lint", str(good)]) == 0
    assert main(["lint", str(bad)]) == 1
    out = capsys.readouterr().out
    assert out.startswith(f"{bad}:2:8: double-softmax F.cross_entropy gets")
    assert main(["lint", str(tmp_path)]) == 1  # a folder: every .py and .ipynb in it
    assert main(["lint", str(tmp_path / "missing.py")]) == 2
    (tmp_path / "broken.py").write_text("def (:\n")
    assert main(["lint", str(tmp_path / "broken.py")]) == 2
    (tmp_path / "notes.txt").write_text("")
    assert main(["lint", str(tmp_path / "notes.txt")]) == 2
    (tmp_path / "bad.ipynb").write_text("{not json")
    assert main(["lint", str(tmp_path / "bad.ipynb")]) == 2
    assert main([]) == 2 and main(["lint"]) == 2 and main(["format", "x.py"]) == 2
    capsys.readouterr()


def test_messages_in_korean(tmp_path, capsys):
    bad = tmp_path / "bad.py"
    bad.write_text("loss = F.cross_entropy(z.softmax(1), y)\n")
    assert main(["lint", "--lang", "ko", str(bad)]) == 1
    assert "소프트맥스" in capsys.readouterr().out
    lossviz.set_language("en")


def test_korean_message_particles(korean):
    (finding,) = lint.lint_source(textwrap.dedent(DISCRIMINATOR))
    assert "BCEWithLogitsLoss를" in finding.message


def test_as_a_module_from_the_shell(tmp_path):
    bad = tmp_path / "bad.py"
    bad.write_text("loss = F.cross_entropy(z.softmax(1), y)\n")
    result = subprocess.run([sys.executable, "-m", "lossviz", "lint", str(bad)], capture_output=True, text=True,
                            timeout=120)
    assert result.returncode == 1 and "double-softmax" in result.stdout


def test_lint_source_argument_checks():
    with pytest.raises(TypeError, match="source"):
        lint.lint_source(b"x = 1")
    with pytest.raises(SyntaxError):
        lint.lint_source("def (:")


def test_notebook_11_is_clean_once_its_demonstrations_are_marked():
    for language in ("en", "ko"):
        path = ROOT / "notebooks" / language / "11_common_mistakes.ipynb"
        findings, errors = lint.lint_file(path)
        assert errors == [] and findings == [], findings


def test_a_marker_alone_on_the_line_above_silences_the_next_line_only():
    source = """
        import torch.nn.functional as F
        # lossviz: ignore[sigmoid-bce]  (a deliberate demonstration)
        a = F.binary_cross_entropy(torch.sigmoid(x), y)
        b = F.binary_cross_entropy(torch.sigmoid(x), y)
    """
    findings = lint.lint_source(textwrap.dedent(source))
    assert [(f.code, f.line) for f in findings] == [("sigmoid-bce", 5)]


def test_the_collection_s_own_notebooks_are_clean_where_demonstrations_are_marked():
    notebooks = Path(__file__).resolve().parent.parent / "notebooks"
    findings, errors = lint.lint_paths([notebooks])
    assert errors == []
    assert [f"{f.path}:{f.line}: {f.code}" for f in findings] == []
