"""The results page in a real headless browser (Debian ``chromium``, installed by ``make browser``).

The page is loaded from file:// and watched through the DevTools protocol over chromium's
``--remote-debugging-pipe`` (JSON messages ending in NUL on file descriptors 3 and 4; no websocket
or browser-driver package needed): every console message, uncaught exception and browser log error
(e.g. a plot that fails to load) is collected, and each study heading is checked to be rendered
with a non-empty box and not hidden. The slow test takes a ``--screenshot`` of the page built from
the repository's committed metrics and checks it is a non-blank PNG of the window size.
"""

from __future__ import annotations

import json
import os
import select
import shutil
import subprocess
import time
from pathlib import Path

import pytest

from matdisco.core.families import FAMILIES
from matdisco.core.report import write_report

REPO = Path(__file__).resolve().parents[2]
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
pytestmark = pytest.mark.skipif(
    CHROMIUM is None, reason="Debian chromium is not installed: `make browser` installs it (apt-get install chromium)"
)
WINDOW = (1280, 2400)


def chromium_command(profile: Path, *args: str) -> list[str]:
    """Headless chromium with a private profile; ``--no-sandbox`` as root (the sandbox refuses to start)."""
    root_only = ["--no-sandbox"] if os.geteuid() == 0 else []
    return [
        CHROMIUM,
        "--headless",
        "--disable-gpu",
        *root_only,
        f"--user-data-dir={profile}",
        "--no-first-run",
        f"--window-size={WINDOW[0]},{WINDOW[1]}",
        *args,
    ]


class DevTools:
    """A minimal DevTools-protocol client over ``--remote-debugging-pipe``."""

    def __init__(self, profile: Path):
        to_child, self._write = os.pipe()
        self._read, from_child = os.pipe()

        def map_pipes() -> None:  # chromium reads commands on fd 3 and writes replies on fd 4
            os.dup2(to_child, 3)
            os.dup2(from_child, 4)

        self.process = subprocess.Popen(
            chromium_command(profile, "--remote-debugging-pipe", "about:blank"),
            preexec_fn=map_pipes,
            close_fds=False,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        os.close(to_child)
        os.close(from_child)
        self._buffer, self._next_id, self.events = b"", 0, []

    def send(
        self, method: str, params: dict | None = None, session: str | None = None, timeout_s: float = 60.0
    ) -> dict:
        """Send one command and return its ``result``; events that arrive meanwhile go to ``self.events``."""
        self._next_id += 1
        message = {
            "id": self._next_id,
            "method": method,
            "params": params or {},
            **({"sessionId": session} if session else {}),
        }
        os.write(self._write, json.dumps(message).encode() + b"\0")
        while True:
            reply = self._receive(timeout_s)
            if reply.get("id") == self._next_id:
                assert "error" not in reply, f"DevTools {method}: {reply['error']}"
                return reply.get("result", {})
            self.events.append(reply)

    def wait_for(self, method: str, timeout_s: float = 60.0) -> dict:
        """The first event ``method`` (already received or arriving within ``timeout_s``)."""
        deadline = time.monotonic() + timeout_s
        while True:
            found = next((event for event in self.events if event.get("method") == method), None)
            if found:
                return found
            self.events.append(self._receive(max(0.1, deadline - time.monotonic())))

    def _receive(self, timeout_s: float) -> dict:
        deadline = time.monotonic() + timeout_s
        while b"\0" not in self._buffer:
            ready, _, _ = select.select([self._read], [], [], max(0.0, deadline - time.monotonic()))
            assert ready, f"chromium sent nothing within {timeout_s:.0f} s"
            chunk = os.read(self._read, 1 << 16)
            assert chunk, "chromium closed the DevTools pipe"
            self._buffer += chunk
        message, self._buffer = self._buffer.split(b"\0", 1)
        return json.loads(message)

    def close(self) -> None:
        try:
            self.send("Browser.close", timeout_s=10)
        except AssertionError:
            pass
        try:
            self.process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.process.kill()
        os.close(self._write)
        os.close(self._read)


HEADINGS_JS = """JSON.stringify(Array.from(document.querySelectorAll('section > h2')).map(h => {
  const box = h.getBoundingClientRect(), style = getComputedStyle(h);
  return {section: h.parentElement.id, text: h.textContent, visible: box.width > 0 && box.height > 0
          && style.visibility !== 'hidden' && style.display !== 'none' && parseFloat(style.opacity) > 0};
}))"""
IMAGES_JS = (
    "JSON.stringify(Array.from(document.images).map(i => ({src: i.src, loaded: i.complete && i.naturalWidth > 0})))"
)


def load_page(page: Path, profile: Path) -> dict:
    """Open ``page`` in headless chromium; its problems (console, exceptions, log errors), headings and images."""
    browser = DevTools(profile)
    try:
        target = browser.send("Target.createTarget", {"url": "about:blank"})["targetId"]
        session = browser.send("Target.attachToTarget", {"targetId": target, "flatten": True})["sessionId"]
        for domain in ("Page", "Runtime", "Log"):
            browser.send(f"{domain}.enable", session=session)
        browser.send("Page.navigate", {"url": page.resolve().as_uri()}, session=session)
        browser.wait_for("Page.loadEventFired")
        headings, images = (
            json.loads(
                browser.send("Runtime.evaluate", {"expression": js, "returnByValue": True}, session=session)["result"][
                    "value"
                ]
            )
            for js in (HEADINGS_JS, IMAGES_JS)
        )
        time.sleep(0.2)  # late log entries
        browser.send("Runtime.evaluate", {"expression": "1"}, session=session)
    finally:
        browser.close()
    problems = [
        event
        for event in browser.events
        if event.get("method") in ("Runtime.consoleAPICalled", "Runtime.exceptionThrown")
        or event.get("method") == "Log.entryAdded"
        and event["params"]["entry"]["level"] in ("error", "warning")
    ]
    return {"problems": problems, "headings": headings, "images": images}


def fixture_tree(root: Path) -> Path:
    """A tree with one metrics file and one real plot (matplotlib), and the page built from it."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    (root / "metrics/ionic").mkdir(parents=True)
    rmse = {"value": 0.812, "ci_low": 0.75, "ci_high": 0.88}
    (root / "metrics/ionic/evaluate.json").write_text(
        json.dumps(
            {
                "predictors": {
                    "ionic_additive": {
                        "kind": "model",
                        "kfold": {"rmse_mean": 0.812, "rmse_std": 0.05},
                        "out_of_fold": {"rmse_ln": rmse},
                    }
                },
                "differences": {"ionic_additive_minus_ridge_additive": {"rmse_ln": {**rmse, "p_model_better": 0.9}}},
            }
        )
    )
    (root / "plots/ionic").mkdir(parents=True)
    fig, ax = plt.subplots(figsize=(3, 3))
    ax.plot([0, 1], [0, 1])
    fig.savefig(root / "plots/ionic/parity.png")
    plt.close(fig)
    return write_report(root, root / "results/report/index.html", experiments=False)


def test_page_loads_without_console_errors_and_shows_every_study(tmp_path):
    seen = load_page(fixture_tree(tmp_path / "repo"), tmp_path / "profile")
    assert not seen["problems"], f"the page logged problems in chromium: {seen['problems']}"
    assert {h["section"] for h in seen["headings"]} == set(FAMILIES) | {"experiments"}
    hidden = [h["text"] for h in seen["headings"] if not h["visible"]]
    assert not hidden, f"study headings not visible: {hidden}"
    assert seen["images"] and all(image["loaded"] for image in seen["images"]), (
        f"plots that did not load: {seen['images']}"
    )


def test_the_page_of_the_committed_results_loads_cleanly(tmp_path):
    """The repository's own metrics and plots (whatever is committed): no console errors, no broken plot, every study."""
    seen = load_page(write_report(REPO, tmp_path / "report" / "index.html", experiments=False), tmp_path / "profile")
    assert not seen["problems"], f"the page logged problems in chromium: {seen['problems']}"
    assert {h["section"] for h in seen["headings"] if h["visible"]} == set(FAMILIES) | {"experiments"}
    assert all(image["loaded"] for image in seen["images"]), f"plots that did not load: {seen['images']}"


def test_the_browser_check_catches_console_errors_and_broken_plots(tmp_path):
    """Negative control: a page with a console error and a missing image is reported."""
    page = tmp_path / "bad.html"
    page.write_text(
        '<!DOCTYPE html><html><head><link rel="icon" href="data:,"></head><body><section id="x"><h2>x</h2></section>'
        '<img src="missing.png"><script>console.error("boom")</script></body></html>'
    )
    seen = load_page(page, tmp_path / "profile")
    methods = {event["method"] for event in seen["problems"]}
    assert "Runtime.consoleAPICalled" in methods and "Log.entryAdded" in methods
    assert seen["images"] == [{"src": (tmp_path / "missing.png").as_uri(), "loaded": False}]


@pytest.mark.slow
def test_screenshot_of_the_page_from_the_committed_metrics(tmp_path):
    from PIL import Image

    page = write_report(REPO, tmp_path / "report" / "index.html", experiments=True)
    shot = tmp_path / "page.png"
    subprocess.run(
        chromium_command(tmp_path / "profile", "--hide-scrollbars", f"--screenshot={shot}", page.as_uri()),
        check=True,
        capture_output=True,
        timeout=180,
    )
    image = Image.open(shot).convert("L")
    assert image.size == WINDOW
    histogram = image.histogram()
    non_white = sum(histogram[:240]) / (image.size[0] * image.size[1])
    assert non_white > 0.01, f"screenshot {shot} is blank ({100 * non_white:.2f} % non-white pixels)"
    assert len([level for level, count in enumerate(histogram) if count]) > 16, (
        "screenshot has almost no grey levels: not a rendered page"
    )
