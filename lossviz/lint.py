"""``lossviz lint``: the mistakes of :mod:`lossviz.diagnose`, found in the source, without running it.

    python -m lossviz lint train.py notebooks/        (or the console script ``lossviz lint``)

Reads ``.py`` files and the code cells of ``.ipynb`` notebooks (IPython ``%``/``!`` lines are
skipped) with the standard library's :mod:`ast`, and prints one line per finding, flake8 style::

    train.py:12:8: double-sigmoid BCEWithLogitsLoss gets the output of a sigmoid ...
    model.ipynb:cell_3:2:8: sigmoid-bce ...

``cell_N`` counts code cells from 1, the ``[N]`` a notebook shows after Run All; the line is
within that cell. Exit status: 0 clean, 1 findings, 2 a path or a cell that cannot be read.

Rules (names are followed through simple assignments, ``p = m(x)``, ``criterion = nn.BCELoss()``,
``m = nn.Sigmoid()``, ``self.head = nn.Sequential(..., nn.Sigmoid())``, and shape-only calls such
as ``.squeeze(1)``, ``.view(-1)``, ``[:, 0]``):

- ``double-sigmoid``: a sigmoid's output passed to ``BCEWithLogitsLoss`` /
  ``binary_cross_entropy_with_logits``; or a model ending in ``nn.Sigmoid()`` in a file that
  builds ``BCEWithLogitsLoss`` and no ``BCELoss`` (the GAN discriminator case; reported at the
  Sigmoid, since no call in the file connects the two).
- ``double-softmax``: the same for softmax and ``CrossEntropyLoss`` / ``cross_entropy`` (a file
  that also builds ``NLLLoss`` is left to the call rules).
- ``sigmoid-bce``: a sigmoid's output passed to ``BCELoss`` / ``binary_cross_entropy``.
- ``nll-without-log-softmax``: a softmax's output passed to ``NLLLoss`` / ``nll_loss``.
- ``log-of-softmax``: ``log(softmax(...))``; ``log-of-sigmoid``: ``log(sigmoid(x))``,
  ``log(1 - sigmoid(x))``, ``log1p(-sigmoid(x))``.

A deliberate demonstration is silenced by a comment on any line of the reported expression:
``# lossviz: ignore[double-sigmoid]`` (one or more codes, comma-separated) or
``# lossviz: ignore`` (every code), on a line of the reported expression or alone on the line
above it.
"""
from __future__ import annotations

import ast
import json
import re
import sys
from dataclasses import dataclass
from pathlib import Path

from . import i18n

__all__ = ["LintFinding", "lint_source", "lint_file", "lint_paths", "main", "CODES"]

CODES = ("double-sigmoid", "double-softmax", "sigmoid-bce", "nll-without-log-softmax",
         "log-of-softmax", "log-of-sigmoid")

MESSAGES = {
    "double-sigmoid": {
        "en": "{loss} gets the output of a sigmoid, but it applies the sigmoid itself (sigmoid twice: "
              "the loss stalls). Pass the logits.",
        "ko": "{loss}에 시그모이드의 출력이 들어가는데, 이 손실은 시그모이드를 스스로 적용합니다(시그모이드 "
              "두 번: 손실이 멈춥니다). 로짓을 넘기세요.",
    },
    "double-sigmoid-model": {
        "en": "This model ends in nn.Sigmoid(), and this file builds {loss} (line {line}), which applies "
              "the sigmoid itself. Remove the Sigmoid; apply torch.sigmoid only to read probabilities.",
        "ko": "이 모델은 nn.Sigmoid()로 끝나는데, 이 파일은 시그모이드를 스스로 적용하는 {loss}을(를) "
              "만듭니다({line}행). Sigmoid를 빼고, 확률이 필요할 때만 torch.sigmoid를 쓰세요.",
    },
    "double-softmax": {
        "en": "{loss} gets the output of a softmax, but it applies log_softmax itself (softmax twice: "
              "the gradient shrinks up to K times). Pass the logits.",
        "ko": "{loss}에 소프트맥스의 출력이 들어가는데, 이 손실은 log_softmax를 스스로 적용합니다(소프트맥스 "
              "두 번: 그래디언트가 최대 K배 작아집니다). 로짓을 넘기세요.",
    },
    "double-softmax-model": {
        "en": "This model ends in nn.Softmax(), and this file builds {loss} (line {line}), which applies "
              "log_softmax itself. Remove the Softmax; apply softmax only to read probabilities.",
        "ko": "이 모델은 nn.Softmax()로 끝나는데, 이 파일은 log_softmax를 스스로 적용하는 {loss}을(를) "
              "만듭니다({line}행). Softmax를 빼고, 확률이 필요할 때만 softmax를 쓰세요.",
    },
    "sigmoid-bce": {
        "en": "{loss} gets the output of a sigmoid: it saturates (loss 100, gradient 0) once a wrong "
              "logit passes about 16.6. Drop the sigmoid and use BCEWithLogitsLoss.",
        "ko": "{loss}에 시그모이드의 출력이 들어갑니다. 틀린 로짓이 약 16.6을 넘으면 포화됩니다(손실 100, "
              "그래디언트 0). 시그모이드를 빼고 BCEWithLogitsLoss를 쓰세요.",
    },
    "nll-without-log-softmax": {
        "en": "{loss} gets the output of a softmax, not log_softmax: the loss becomes -p[target], not "
              "-log p[target]. Use log_softmax, or CrossEntropyLoss on the logits.",
        "ko": "{loss}에 log_softmax가 아니라 소프트맥스의 출력이 들어갑니다. 손실이 -log p[target]이 아니라 "
              "-p[target]이 됩니다. log_softmax를 쓰거나, 로짓에 CrossEntropyLoss를 쓰세요.",
    },
    "log-of-softmax": {
        "en": "log(softmax(...)) is -inf where a probability rounds to 0, and its gradient NaN. "
              "Use log_softmax(...).",
        "ko": "log(softmax(...))는 확률이 0으로 반올림되는 곳에서 -inf가 되고 그래디언트는 NaN이 됩니다. "
              "log_softmax(...)를 쓰세요.",
    },
    "log-of-sigmoid": {
        "en": "log(sigmoid(x)) is -inf once sigmoid(x) rounds to 0 (x below about -88 in float32), and "
              "log(1 - sigmoid(x)) once it rounds to 1 (x above about 16.6). Use F.logsigmoid(x) "
              "and F.logsigmoid(-x).",
        "ko": "log(sigmoid(x))는 sigmoid(x)가 0으로 반올림되면(float32에서 x가 약 -88 아래) -inf가 되고, "
              "log(1 - sigmoid(x))는 1로 반올림되면(x가 약 16.6 위) -inf가 됩니다. F.logsigmoid(x)와 "
              "F.logsigmoid(-x)를 쓰세요.",
    },
}
ERRORS = {
    "syntax": {"en": "cannot parse: {error}", "ko": "구문을 해석할 수 없습니다: {error}"},
    "missing": {"en": "no such file or folder", "ko": "그런 파일이나 폴더가 없습니다"},
    "kind": {"en": "not a .py file, a .ipynb notebook or a folder", "ko": ".py 파일, .ipynb 노트북, 폴더가 아닙니다"},
    "notebook": {"en": "not a readable notebook: {error}", "ko": "읽을 수 있는 노트북이 아닙니다: {error}"},
}

_IGNORE = re.compile(r"#\s*lossviz:\s*ignore(?:\[([\w\s,-]+)\])?")

# what a call builds, by the last part of its name
_MODULES = {"Sigmoid": "module:sigmoid", "Softmax": "module:softmax", "BCELoss": "loss:bce",
            "BCEWithLogitsLoss": "loss:bce_logits", "CrossEntropyLoss": "loss:ce", "NLLLoss": "loss:nll"}
_LOSS_FUNCTIONS = {"binary_cross_entropy": "bce", "binary_cross_entropy_with_logits": "bce_logits",
                   "cross_entropy": "ce", "nll_loss": "nll"}
_LOSS_NAMES = {"bce": "BCELoss", "bce_logits": "BCEWithLogitsLoss", "ce": "CrossEntropyLoss", "nll": "NLLLoss"}
_ACTIVATIONS = {"sigmoid": "sigmoid", "expit": "sigmoid", "softmax": "softmax"}
# calls that keep the values (only the shape, dtype or device changes)
_SHAPE_ONLY = {"squeeze", "unsqueeze", "view", "reshape", "flatten", "float", "double", "half", "to",
               "contiguous", "clone", "cpu", "cuda", "view_as", "reshape_as", "detach", "permute",
               "transpose", "ravel"}
# which loss input, once it is a sigmoid's or softmax's output, is which mistake
_MISTAKE = {("bce_logits", "sigmoid"): "double-sigmoid", ("ce", "softmax"): "double-softmax",
            ("bce", "sigmoid"): "sigmoid-bce", ("nll", "softmax"): "nll-without-log-softmax"}


@dataclass(frozen=True)
class LintFinding:
    """One finding: where (``path``, code ``cell`` of a notebook or None, ``line``, ``col``, from 1)
    and what (``code``, ``message`` in the current language)."""

    path: str
    line: int
    col: int
    code: str
    message: str
    cell: int | None = None

    def __str__(self) -> str:
        where = f"{self.path}:" + (f"cell_{self.cell}:" if self.cell is not None else "")
        return f"{where}{self.line}:{self.col}: {self.code} {self.message}"


def _dotted(node) -> str | None:
    """'torch.nn.functional.softmax' for that attribute chain, 'self.head' for self.head; else None."""
    parts = []
    while isinstance(node, ast.Attribute):
        parts.append(node.attr)
        node = node.value
    if isinstance(node, ast.Name):
        return ".".join([node.id, *reversed(parts)])
    return None


def _last_name(call: ast.Call) -> str | None:
    func = call.func
    return func.attr if isinstance(func, ast.Attribute) else func.id if isinstance(func, ast.Name) else None


class _Analyzer:
    """Walks statements in order, keeping what each name holds (an activation's output, a loss...)."""

    def __init__(self):
        self.raw: list[tuple[ast.AST, int, str, dict]] = []  # (node, cell, template, fields)
        self.models: list[tuple[ast.AST, int, str]] = []      # models ending in sigmoid / softmax
        self.built: dict[str, tuple[int, int]] = {}           # loss family -> (cell, line) first built
        self.cell = 0
        self.returns: list[list[str | None]] = []

    # what an expression holds
    def kind(self, node, env) -> str | None:
        if isinstance(node, (ast.Name, ast.Attribute)):
            name = _dotted(node)
            return env.get(name) if name else None
        if isinstance(node, ast.Subscript):
            inner = self.kind(node.value, env)
            return inner if inner in ("sigmoid", "softmax") else None
        if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Sub) and \
                isinstance(node.left, ast.Constant) and node.left.value == 1:
            return "one_minus_sigmoid" if self.kind(node.right, env) == "sigmoid" else None
        if not isinstance(node, ast.Call):
            return None
        callee, last = _dotted(node.func), _last_name(node)
        held = env.get(callee) if callee else self.kind(node.func, env)
        if held in ("module:sigmoid", "model:sigmoid"):
            return "sigmoid"
        if held in ("module:softmax", "model:softmax"):
            return "softmax"
        if held in ("class:sigmoid", "class:softmax"):
            return "model:" + held.split(":")[1]
        if held in ("function:sigmoid", "function:softmax"):
            return held.split(":")[1]
        if held is not None:
            return None
        if last in _MODULES:
            return _MODULES[last]
        if last == "Sequential" and node.args:
            inner = self.kind(node.args[-1], env)
            if inner in ("module:sigmoid", "model:sigmoid", "module:softmax", "model:softmax"):
                kind = inner.split(":")[1]
                self.models.append((node.args[-1], self.cell, kind))
                return "model:" + kind
            return None
        if last in _ACTIVATIONS:
            return _ACTIVATIONS[last]
        if last in _SHAPE_ONLY and isinstance(node.func, ast.Attribute):
            inner = self.kind(node.func.value, env)
            if inner in ("sigmoid", "softmax"):
                return inner
            if isinstance(node.func.value, ast.Name) and node.args and node.func.value.id == "torch":
                inner = self.kind(node.args[0], env)  # torch.squeeze(p), torch.flatten(p)
                return inner if inner in ("sigmoid", "softmax") else None
        return None

    # findings in the calls of one expression
    def scan(self, tree, env):
        for node in ast.walk(tree):
            if isinstance(node, ast.Call):
                self.call(node, env)

    def call(self, node: ast.Call, env):
        last = _last_name(node)
        callee = _dotted(node.func)
        held = env.get(callee) if callee else self.kind(node.func, env) if isinstance(node.func, ast.Call) else None
        family = None
        if held and held.startswith("loss:"):
            family = held[5:]
        elif held is None and last in _LOSS_FUNCTIONS:
            family = _LOSS_FUNCTIONS[last]
        if last in _MODULES and _MODULES[last].startswith("loss:"):
            self.built.setdefault(_MODULES[last][5:], (self.cell, node.lineno))
        elif held is None and last in _LOSS_FUNCTIONS:
            self.built.setdefault(_LOSS_FUNCTIONS[last], (self.cell, node.lineno))
        if family:
            first = node.args[0] if node.args else next((k.value for k in node.keywords if k.arg == "input"), None)
            code = _MISTAKE.get((family, self.kind(first, env))) if first is not None else None
            if code:
                name = _LOSS_NAMES[family] if held else callee or last
                self.raw.append((node, self.cell, code, {"loss": name}))
        if last in ("log", "log1p"):
            argument = node.args[0] if node.args else node.func.value if isinstance(node.func, ast.Attribute) else None
            if argument is None:
                return
            if last == "log1p":
                negated = isinstance(argument, ast.UnaryOp) and isinstance(argument.op, ast.USub)
                if negated and self.kind(argument.operand, env) == "sigmoid":
                    self.raw.append((node, self.cell, "log-of-sigmoid", {}))
                return
            inner = self.kind(argument, env)
            if inner == "softmax":
                self.raw.append((node, self.cell, "log-of-softmax", {}))
            elif inner in ("sigmoid", "one_minus_sigmoid"):
                self.raw.append((node, self.cell, "log-of-sigmoid", {}))

    # statements, in order
    def block(self, statements, env):
        for statement in statements:
            self.statement(statement, env)

    def statement(self, node, env):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            for decorator in node.decorator_list:
                self.scan(decorator, env)
            inner = {name: kind for name, kind in env.items()
                     if name.split(".")[0] not in {a.arg for a in ast.walk(node.args) if isinstance(a, ast.arg)}}
            self.returns.append([])
            self.block(node.body, inner)
            returned = [kind for kind, _ in self.returns.pop()]
            env.pop(node.name, None)
            if "sigmoid" in returned or "softmax" in returned:
                env[node.name] = "function:" + ("sigmoid" if "sigmoid" in returned else "softmax")
            return
        if isinstance(node, ast.ClassDef):
            self.class_definition(node, env)
            return
        if isinstance(node, ast.Return):
            if node.value is not None:
                self.scan(node.value, env)
                if self.returns:
                    self.returns[-1].append((self.kind(node.value, env), node))
            return
        if isinstance(node, (ast.Assign, ast.AnnAssign, ast.AugAssign)):
            if node.value is not None:
                self.scan(node.value, env)
            kind = self.kind(node.value, env) if isinstance(node, ast.Assign) and node.value is not None else None
            if isinstance(node, ast.AnnAssign) and node.value is not None:
                kind = self.kind(node.value, env)
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            for target in targets:
                self.assign(target, kind if not isinstance(node, ast.AugAssign) else None, env)
            return
        if isinstance(node, (ast.For, ast.AsyncFor)):
            self.scan(node.iter, env)
            self.assign(node.target, None, env)
            self.block(node.body, env)
            self.block(node.orelse, env)
            return
        if isinstance(node, (ast.With, ast.AsyncWith)):
            for item in node.items:
                self.scan(item.context_expr, env)
                if item.optional_vars is not None:
                    self.assign(item.optional_vars, None, env)
            self.block(node.body, env)
            return
        if isinstance(node, (ast.If, ast.While)):
            self.scan(node.test, env)
            self.block(node.body, env)
            self.block(node.orelse, env)
            return
        if isinstance(node, ast.Try) or type(node).__name__ == "TryStar":
            self.block(node.body, env)
            for handler in node.handlers:
                self.block(handler.body, env)
            self.block(node.orelse, env)
            self.block(node.finalbody, env)
            return
        if isinstance(node, ast.Match):
            self.scan(node.subject, env)
            for case in node.cases:
                self.block(case.body, env)
            return
        self.scan(node, env)

    def assign(self, target, kind, env):
        if isinstance(target, (ast.Tuple, ast.List)):
            for element in target.elts:
                self.assign(element, None, env)
            return
        if isinstance(target, ast.Starred):
            self.assign(target.value, None, env)
            return
        name = _dotted(target)
        if name is None:
            return
        for key in [key for key in env if key == name or key.startswith(name + ".")]:
            del env[key]
        if kind is not None:
            env[name] = kind

    def class_definition(self, node: ast.ClassDef, env):
        """A class whose forward returns a sigmoid's (softmax's) output builds such models."""
        methods = {m.name: m for m in node.body if isinstance(m, (ast.FunctionDef, ast.AsyncFunctionDef))}
        members = dict(env)
        if "__init__" in methods:  # self.head = nn.Sequential(...): seen by the other methods
            init = methods["__init__"]
            self.returns.append([])
            self.block(init.body, members)
            self.returns.pop()
        kind = None
        for name, method in methods.items():
            if name == "__init__":
                continue
            self.returns.append([])
            self.block(method.body, dict(members))
            returned = [(k, r) for k, r in self.returns.pop() if k in ("sigmoid", "softmax")]
            if name == "forward" and returned:
                kind, returned_node = returned[0]
                if not self._applies_a_model(returned_node.value, members):  # that model is on the list
                    self.models.append((returned_node, self.cell, kind))
        env.pop(node.name, None)
        if kind:
            env[node.name] = "class:" + kind

    def _applies_a_model(self, node, env) -> bool:
        while isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr in _SHAPE_ONLY:
            node = node.func.value
        callee = _dotted(node.func) if isinstance(node, ast.Call) else None
        return bool(callee) and str(env.get(callee)).startswith("model:")

    def whole_file_findings(self, flagged_codes):
        """Models ending in a sigmoid (softmax) in a file that builds the loss that applies it."""
        for node, cell, kind in self.models:
            family, code, other = (("bce_logits", "double-sigmoid", "bce") if kind == "sigmoid"
                                   else ("ce", "double-softmax", "nll"))
            # a file that also builds the loss that wants this model's output can be right
            if family in self.built and other not in self.built and code not in flagged_codes:
                built_cell, line = self.built[family]
                self.raw.append((node, cell, code + "-model", {"loss": _LOSS_NAMES[family], "line": line}))


# --- sources, notebooks and files -------------------------------------------------------------

_CELL_MAGICS_WITH_PYTHON = {"time", "timeit", "capture", "prun", "debug"}
_SHELL_OR_MAGIC = re.compile(r"^\s*(?:[!%]|[\w.,\s\[\]]+=\s*[!%])")
_HELP = re.compile(r"^\s*\??[\w.]+\?{1,2}\s*$")  # obj? and obj?? (IPython help)


def python_of_cell(source: str) -> str | None:
    """The cell's Python with IPython syntax blanked (line numbers kept); None for a non-Python cell."""
    lines = source.split("\n")
    if lines and lines[0].lstrip().startswith("%%"):
        magic = lines[0].lstrip()[2:].split()[0] if lines[0].lstrip()[2:].split() else ""
        if magic not in _CELL_MAGICS_WITH_PYTHON:
            return None
        lines[0] = ""
    kept = []
    for line in lines:
        if _SHELL_OR_MAGIC.match(line) or _HELP.match(line):
            indent = line[: len(line) - len(line.lstrip())]
            line = indent + "pass" if indent else ""
        kept.append(line)
    return "\n".join(kept)


def _ignored(code: str, node: ast.AST, lines: list[str]) -> bool:
    numbers = list(range(node.lineno, (getattr(node, "end_lineno", None) or node.lineno) + 1))
    # A marker alone on the line above also counts, so a long demonstration line stays short.
    if node.lineno >= 2 and lines[node.lineno - 2].lstrip().startswith("#"):
        numbers.insert(0, node.lineno - 1)
    for number in numbers:
        if number - 1 < len(lines):
            for match in _IGNORE.finditer(lines[number - 1]):
                listed = match.group(1)
                if listed is None or code in {c.strip() for c in listed.split(",")}:
                    return True
    return False


def _lint_cells(cells: list[tuple[int | None, str]], path: str):
    """Findings and errors for a list of (cell number or None, Python source), names flowing on."""
    analyzer, env, sources, errors = _Analyzer(), {}, {}, []
    for cell, source in cells:
        try:
            tree = ast.parse(source)
        except SyntaxError as error:
            where = f"{path}:" + (f"cell_{cell}:" if cell is not None else "")
            errors.append(f"{where}{error.lineno or 1}:{error.offset or 1}: "
                          + i18n.pick(ERRORS["syntax"], error=error.msg))
            continue
        analyzer.cell = cell
        sources[cell] = source.split("\n")
        analyzer.block(tree.body, env)
    analyzer.whole_file_findings({code for _, _, code, _ in analyzer.raw})
    findings, seen = [], set()
    for node, cell, template, fields in analyzer.raw:
        code = template.removesuffix("-model")
        key = (cell, node.lineno, node.col_offset, code)
        if key in seen or _ignored(code, node, sources[cell]):
            continue
        seen.add(key)
        findings.append(LintFinding(path, node.lineno, node.col_offset + 1, code,
                                    i18n.pick(MESSAGES[template], **fields), cell))
    findings.sort(key=lambda f: (f.cell or 0, f.line, f.col))
    return findings, errors


def lint_source(source: str, path: str = "<string>") -> list[LintFinding]:
    """Findings in Python source. A syntax error raises SyntaxError."""
    if not isinstance(source, str):
        raise TypeError(f"lint_source(): argument 'source' must be a str, got {type(source).__name__}")
    ast.parse(source)  # the error, with its line, before anything else
    return _lint_cells([(None, source)], path)[0]


def lint_file(path) -> tuple[list[LintFinding], list[str]]:
    """Findings and error lines (unreadable file, syntax error) of one .py or .ipynb file."""
    path = Path(path)
    shown = str(path)
    if path.suffix == ".ipynb":
        try:
            notebook = json.loads(path.read_text(encoding="utf-8"))
            cells = [cell for cell in notebook["cells"] if cell.get("cell_type") == "code"]
        except (OSError, ValueError, KeyError, TypeError) as error:
            return [], [f"{shown}:1:1: " + i18n.pick(ERRORS["notebook"], error=error)]
        numbered = []
        for number, cell in enumerate(cells, start=1):
            source = cell.get("source", "")
            python = python_of_cell("".join(source) if isinstance(source, list) else source)
            if python is not None:
                numbered.append((number, python))
        return _lint_cells(numbered, shown)
    try:
        source = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:
        return [], [f"{shown}:1:1: " + i18n.pick(ERRORS["notebook"], error=error)]
    return _lint_cells([(None, source)], shown)


def _files(path: Path):
    if path.is_dir():
        for child in sorted(path.rglob("*")):
            hidden = any(part.startswith(".") for part in child.relative_to(path).parts)
            if child.suffix in (".py", ".ipynb") and child.is_file() and not hidden:
                yield child
    else:
        yield path


def lint_paths(paths) -> tuple[list[LintFinding], list[str]]:
    """Findings and error lines for files and folders (searched for .py and .ipynb, hidden skipped)."""
    findings, errors = [], []
    for given in paths:
        given = Path(given)
        if not given.exists():
            errors.append(f"{given}: " + i18n.pick(ERRORS["missing"]))
            continue
        if given.is_file() and given.suffix not in (".py", ".ipynb"):
            errors.append(f"{given}: " + i18n.pick(ERRORS["kind"]))
            continue
        for path in _files(given):
            found, failed = lint_file(path)
            findings.extend(found)
            errors.extend(failed)
    return findings, errors


def main(paths, *, out=None, err=None) -> int:
    """Print the findings for ``paths``; return the exit status (0 clean, 1 findings, 2 errors)."""
    out, err = out or sys.stdout, err or sys.stderr
    findings, errors = lint_paths(paths)
    for finding in findings:
        print(finding, file=out)
    for error in errors:
        print(error, file=err)
    return 2 if errors else 1 if findings else 0
