"""Headless Chromium for the page tests: Debian's chromium driven by its chromedriver through selenium.

No test tool downloads a browser here: the binaries are the system's, and selenium is told
their paths (so its driver manager never runs).
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from pathlib import Path

import pytest

CHROMIUM = "/usr/bin/chromium"
CHROMEDRIVER = "/usr/bin/chromedriver"
#: Chromium's own traffic (updates, sync, field trials) is switched off, so any request seen is the page's.
FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
    "--window-size=1100,1400",
]

#: Run in the page: every <math> laid out as maths, with the faults it finds (an empty list when all is well).
CHECK_MATHS = """
const arity = {msub: 2, msup: 2, msubsup: 3, mfrac: 2, munderover: 3, munder: 2, mover: 2, msqrt: null, mroot: 2};
const faults = [];
const where = (el) => {
  const eq = el.closest('[id]');
  return eq ? '#' + eq.id : el.outerHTML.slice(0, 80);
};
const maths = [...document.querySelectorAll('math')];
for (const m of maths) {
  const r = m.getBoundingClientRect();
  if (!(r.width > 0 && r.height > 0)) faults.push('empty box: ' + where(m));
}
for (const e of document.querySelectorAll('merror')) faults.push('merror: ' + where(e));
for (const [tag, n] of Object.entries(arity)) {
  if (n === null) continue;
  for (const e of document.querySelectorAll(tag)) {
    if (e.children.length !== n) faults.push(tag + ' with ' + e.children.length + ' children: ' + where(e));
  }
}
// laid out as maths, not as unknown inline elements: a numerator sits above its denominator,
// a subscript lower than its base
for (const f of document.querySelectorAll('mfrac')) {
  if (f.children.length !== 2) continue;
  const top = f.children[0].getBoundingClientRect(), bottom = f.children[1].getBoundingClientRect();
  if (!(top.bottom <= bottom.top + 1)) faults.push('fraction not stacked: ' + where(f));
}
for (const s of document.querySelectorAll('msub')) {
  if (s.children.length !== 2) continue;
  const base = s.children[0].getBoundingClientRect(), sub = s.children[1].getBoundingClientRect();
  if (!(sub.bottom > base.bottom)) faults.push('subscript not lowered: ' + where(s));
}
return {count: maths.length, faults: faults};
"""

#: Run in the page: every in-page link names an element that exists.
CHECK_ANCHORS = """
const missing = [];
const links = [...document.querySelectorAll('a[href^="#"]')];
for (const a of links) {
  const id = decodeURIComponent(a.getAttribute('href').slice(1));
  if (!document.getElementById(id)) missing.push(a.getAttribute('href'));
}
return {links: links.length, missing: missing, scripts: document.scripts.length};
"""


def available() -> bool:
    return Path(CHROMIUM).is_file() and Path(CHROMEDRIVER).is_file()


def require() -> None:
    """Skip with the reason when there is no browser; under CI (CI=true) that is a failure instead."""
    if available():
        return
    reason = (
        f"headless Chromium is not installed ({CHROMIUM}, {CHROMEDRIVER}); "
        "install Debian's chromium and chromium-driver (make test does, as root)"
    )
    if os.environ.get("CI") == "true":
        pytest.fail(reason)
    pytest.skip(reason)


class Browser:
    """One headless Chromium with a fresh profile; ``requests()`` lists what the pages asked the network for."""

    def __init__(self):
        os.environ.setdefault("SE_OFFLINE", "true")  # selenium's driver manager must not look anything up
        from selenium import webdriver
        from selenium.webdriver.chrome.service import Service

        self.profile = tempfile.mkdtemp(prefix="bd-chromium-")
        options = webdriver.ChromeOptions()
        options.binary_location = CHROMIUM
        for flag in FLAGS + [f"--user-data-dir={self.profile}"]:
            options.add_argument(flag)
        options.set_capability("goog:loggingPrefs", {"performance": "ALL"})
        self.driver = webdriver.Chrome(service=Service(executable_path=CHROMEDRIVER), options=options)

    def open(self, path: Path) -> None:
        self.driver.get(path.resolve().as_uri())

    def requests(self) -> list[str]:
        """Every URL a page asked for since the last call (from Chromium's DevTools network events)."""
        urls = []
        for entry in self.driver.get_log("performance"):
            message = json.loads(entry["message"])["message"]
            if message["method"] == "Network.requestWillBeSent":
                urls.append(message["params"]["request"]["url"])
        return urls

    def run(self, script: str):
        return self.driver.execute_script(script)

    def close(self) -> None:
        self.driver.quit()
        shutil.rmtree(self.profile, ignore_errors=True)
