"""derivation.html in a real browser: every equation laid out as maths, every anchor resolves, no network.

Without Debian's chromium and chromium-driver the tests skip with that reason; under CI
(CI=true, as in .ci/run) a missing browser fails them instead.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from browser import CHECK_ANCHORS, CHECK_MATHS, Browser, require

import derive


@pytest.fixture(scope="module")
def browser():
    require()
    b = Browser()
    yield b
    b.close()


def _write(
    tmp_path: Path, arch: str, act: str, loss: str, notation: str = "bishop", optimizer: str = "sgd"
) -> tuple[Path, object]:
    d = derive.derivation(arch, act=act, loss=loss, notation=notation, optimizer=optimizer)
    path = tmp_path / "derivation.html"
    path.write_text(d.html())
    return path, d


CASES = [
    ("2-3-2", "tanh,softmax", "ce", "bishop"),
    ("2-2-1", "sigmoid", "sse", "seed000", "momentum"),
    ("2-3-3-2", "relu,tanh,sigmoid", "bce", "nielsen"),
    ("3-2", "leaky_relu", "mse", "goodfellow"),
    ("2-3-2", "softplus,linear", "sse", "seed003"),
    ("9-8-2", "sigmoid", "sse", "seed004"),
]


@pytest.mark.parametrize("case", CASES, ids=["-".join(c) for c in CASES])
def test_every_equation_renders_and_every_anchor_resolves(browser, tmp_path, case):
    path, d = _write(tmp_path, *case)
    browser.requests()  # forget what came before
    browser.open(path)
    maths = browser.run(CHECK_MATHS)
    assert maths["faults"] == [], maths["faults"][:10]
    assert maths["count"] >= len(d.derivation.equations)
    anchors = browser.run(CHECK_ANCHORS)
    assert anchors["missing"] == [] and anchors["scripts"] == 0
    numbers = [e.number for e in d.derivation.equations]
    for n in numbers:  # the trainer cites these numbers; each has its anchor
        assert browser.run(f"return document.getElementById('eq-{n}') !== null;"), n
    browser.driver.get(path.resolve().as_uri() + f"#eq-{numbers[-1]}")
    assert browser.run("return window.scrollY;") > 0  # the browser scrolled to the last equation
    shot = tmp_path / "derivation.png"
    browser.driver.get(path.resolve().as_uri())
    browser.driver.save_screenshot(str(shot))
    assert shot.stat().st_size > 10_000
    urls = browser.requests()  # the browser's own chrome:// pages are not the network
    assert [u for u in urls if not u.startswith((path.resolve().as_uri(), "chrome://"))] == []


def test_a_broken_equation_is_caught(browser, tmp_path):
    """The check is not a formality: one equation broken by hand must be reported, by its anchor."""
    path, d = _write(tmp_path, "2-3-2", "sigmoid", "sse")
    text = path.read_text()
    number = d.derivation.equation("delta-1").number
    pattern = re.compile(r'(<div class="eq" id="eq-%d"[^>]*><math display="block">)(.*?)(</math>)' % number)
    broken_frac = pattern.sub(r"\1<mfrac><mi>a</mi></mfrac>\3", text, count=1)
    emptied = pattern.sub(r"\1\3", text, count=1)
    assert broken_frac != text and emptied != text
    for bad in (broken_frac, emptied):
        path.write_text(bad)
        browser.open(path)
        faults = browser.run(CHECK_MATHS)["faults"]
        assert faults and all(f"#eq-{number}" in f for f in faults), faults


@pytest.mark.slow
def test_large_net_page(browser, tmp_path):
    """784-128-64-10 (the lazy route): the page stays small, shows instances, and renders."""
    d = derive.derivation("784-128-64-10", act="relu,relu,softmax", loss="ce")
    path = tmp_path / "derivation.html"
    path.write_text(d.html())
    assert path.stat().st_size < 400_000
    browser.open(path)
    assert browser.run(CHECK_MATHS)["faults"] == []
    assert browser.run(CHECK_ANCHORS)["missing"] == []
    browser.driver.save_screenshot(str(tmp_path / "derivation-784.png"))


def test_a_network_request_is_caught(browser, tmp_path):
    """The request log is not a formality either: a page that loads an image from a server shows up in it."""
    path = tmp_path / "outside.html"
    path.write_text('<!DOCTYPE html><html><body><img src="http://example.invalid/x.png" alt=""></body></html>')
    browser.requests()
    browser.open(path)
    assert "http://example.invalid/x.png" in browser.requests()


def test_without_a_browser_ci_fails_and_a_local_run_skips(monkeypatch):
    """The skip is never silent under CI: .ci/run sets CI=true, and then a missing browser is a failure."""
    import browser as browser_module

    monkeypatch.setattr(browser_module, "CHROMIUM", "/nonexistent/chromium")
    monkeypatch.setenv("CI", "true")
    with pytest.raises(pytest.fail.Exception, match="chromium-driver"):
        browser_module.require()
    monkeypatch.delenv("CI")
    with pytest.raises(pytest.skip.Exception, match="chromium-driver"):
        browser_module.require()
