"""The on-disk cache of exact references: the same call gives the same bits, any change misses."""
import os

import mpmath
import pytest
import torch

from lossviz import _exact_cache, numerics


@pytest.fixture
def cache(tmp_path, monkeypatch):
    monkeypatch.setenv("LOSSVIZ_CACHE_DIR", str(tmp_path))
    monkeypatch.delenv("LOSSVIZ_CACHE", raising=False)
    return tmp_path


@pytest.fixture
def counted(monkeypatch):
    """numerics.exact_bce_with_logits, counting how often it really computes."""
    calls = []
    original = numerics.exact_bce_with_logits

    def exact_bce_with_logits(*args, **kwargs):
        calls.append(args)
        return original(*args, **kwargs)

    exact_bce_with_logits.__module__ = original.__module__
    exact_bce_with_logits.__qualname__ = original.__qualname__
    return exact_bce_with_logits, calls


def test_a_second_call_reads_the_same_bits_from_disk(cache, counted):
    function, calls = counted
    x = torch.linspace(-50, 50, 101)
    first = _exact_cache.cached(function, x, torch.zeros_like(x))
    second = _exact_cache.cached(function, x, torch.zeros_like(x))
    assert len(calls) == 1 and len(list(cache.glob("*.pt"))) == 1
    assert torch.equal(first, second) and torch.equal(first, numerics.exact_bce_with_logits(x, torch.zeros_like(x)))
    hi, lo = _exact_cache.cached(function, x, torch.zeros_like(x), split=True)
    assert torch.equal(hi, first) and _exact_cache.cached(function, x, torch.zeros_like(x), split=True)[1].equal(lo)


def test_everything_the_result_depends_on_is_in_the_key(cache, counted, monkeypatch):
    function, calls = counted
    x = torch.linspace(-5, 5, 11, dtype=torch.float64)
    y = torch.zeros_like(x)
    base = _exact_cache.key(function, (x, y), {})
    one_ulp = x.clone()
    one_ulp[3] = torch.nextafter(one_ulp[3], torch.tensor(99.0, dtype=torch.float64))
    variants = {
        "one value one ulp away": _exact_cache.key(function, (one_ulp, y), {}),
        "same values in float32": _exact_cache.key(function, (x.float(), y.float()), {}),
        "another shape": _exact_cache.key(function, (x.reshape(11, 1), y.reshape(11, 1)), {}),
        "split": _exact_cache.key(function, (x, y), {"split": True}),
        "pos_weight": _exact_cache.key(function, (x, y, torch.tensor([2.0], dtype=torch.float64)), {}),
        "another function": _exact_cache.key(numerics.exact_bce_with_logits_grad, (x, y), {}),
    }
    monkeypatch.setattr(mpmath, "__version__", "0.0-other")
    variants["another mpmath"] = _exact_cache.key(function, (x, y), {})
    monkeypatch.undo()
    source = _exact_cache._module_source(function)
    monkeypatch.setattr(_exact_cache, "_module_source", lambda f: source + b"# an edit\n")
    variants["numerics.py edited"] = _exact_cache.key(function, (x, y), {})
    assert len(set(variants.values()) | {base}) == len(variants) + 1, variants
    assert _exact_cache.key(function, (x.clone(), y.clone()), {}) == _exact_cache.key(function, (x, y), {})


def test_label_smoothing_is_keyed_exactly(cache):
    keys = {_exact_cache.key(numerics.exact_cross_entropy, (torch.zeros(2, 3), torch.tensor([0, 1])), {"label_smoothing": s})
            for s in (0.1, 0.1 + 2 ** -55, 0.2)}
    assert len(keys) == 3


def test_an_edited_module_misses_the_cache(cache, counted, monkeypatch):
    function, calls = counted
    x = torch.linspace(-3, 3, 7)
    _exact_cache.cached(function, x, x * 0)
    source = _exact_cache._module_source(function)
    monkeypatch.setattr(_exact_cache, "_module_source", lambda f: source + b"# an edit\n")
    _exact_cache.cached(function, x, x * 0)
    assert len(calls) == 2


def test_a_damaged_file_is_computed_again(cache, counted):
    function, calls = counted
    x = torch.linspace(-3, 3, 7)
    expected = _exact_cache.cached(function, x, x * 0)
    (stored,) = cache.glob("*.pt")
    stored.write_bytes(stored.read_bytes()[:20])
    assert torch.equal(_exact_cache.cached(function, x, x * 0), expected) and len(calls) == 2


def test_no_cache_when_turned_off_or_unwritable(cache, counted, monkeypatch, tmp_path):
    function, calls = counted
    x = torch.linspace(-3, 3, 7)
    monkeypatch.setenv("LOSSVIZ_CACHE", "off")
    _exact_cache.cached(function, x, x * 0)
    _exact_cache.cached(function, x, x * 0)
    assert len(calls) == 2 and not list(cache.glob("*"))
    monkeypatch.setenv("LOSSVIZ_CACHE", "on")
    blocker = tmp_path / "a-file"
    blocker.write_text("not a directory")
    monkeypatch.setenv("LOSSVIZ_CACHE_DIR", str(blocker / "cache"))
    assert torch.equal(_exact_cache.cached(function, x, x * 0), numerics.exact_bce_with_logits(x, x * 0))


def test_the_directory_follows_the_environment(monkeypatch, tmp_path):
    monkeypatch.delenv("LOSSVIZ_CACHE_DIR", raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    assert _exact_cache.directory() == tmp_path / "lossviz"
    monkeypatch.delenv("XDG_CACHE_HOME")
    assert _exact_cache.directory() == type(tmp_path).home() / ".cache" / "lossviz"


def test_the_directory_stays_under_its_limit(cache, monkeypatch):
    def store(k):
        x = torch.full((200,), float(k))
        _exact_cache.cached(numerics.exact_bce_with_logits_grad, x, x * 0)
        path = cache / f"exact_bce_with_logits_grad-{_exact_cache.key(numerics.exact_bce_with_logits_grad, (x, x * 0), {})[:40]}.pt"
        if path.exists():  # an age of k seconds after 1970: the order does not hang on the clock's resolution
            os.utime(path, ns=(k * 10 ** 9, k * 10 ** 9))
        return path

    size = store(0).stat().st_size
    monkeypatch.setattr(_exact_cache, "LIMIT_BYTES", int(2.5 * size))
    for k in range(1, 6):
        newest = store(k)
    files = list(cache.glob("*.pt"))
    assert len(files) == 2 and newest in files  # the oldest went first
    monkeypatch.setattr(_exact_cache, "LIMIT_BYTES", 1)
    assert store(9).exists()  # the file just written stays, even alone over the limit


def test_the_key_covers_the_package_modules_the_function_uses():
    from pathlib import Path

    from lossviz import _validate

    source = _exact_cache._module_source(numerics.exact_cross_entropy)
    assert Path(numerics.__file__).read_bytes() in source and Path(_validate.__file__).read_bytes() in source
    assert Path(torch.__file__).read_bytes() not in source  # other packages are covered by version
