"""Lesson 11 in a real browser: JupyterLab from the venv, headless Chromium driven by Playwright.

The test starts JupyterLab on a free localhost port with a token (torn down afterwards), opens a copy of lesson 11,
runs all its cells, and checks that the explorer renders and that choosing another method in its dropdown changes
the picture. It needs Debian's Chromium (``apt-get install chromium``, which ``.ci/run`` does) and skips with a
message where it is missing.
"""

from __future__ import annotations

import os
import secrets
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from sarxai_utils import course

CHROMIUM = Path(os.environ.get("SARXAI_CHROMIUM", "/usr/bin/chromium"))
LESSON = course.NOTEBOOK_DIR / "11_explorer.ipynb"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-quic",
                 "--no-first-run", "--disable-component-update", "--disable-sync"]
RUN_TIMEOUT_MS = 600_000  # running the lesson may train the ci models first (about a minute on 2 cores)

pytestmark = pytest.mark.browser


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def lab(tmp_path_factory, course_data_dir):
    """A JupyterLab server on localhost serving a copy of lesson 11: (base URL, token, server log path)."""
    if not CHROMIUM.exists():
        pytest.skip(f"Chromium is not installed at {CHROMIUM} (apt-get install chromium, or set SARXAI_CHROMIUM)")
    pytest.importorskip("playwright.sync_api", reason="the playwright package is missing (pip install playwright)")
    root = tmp_path_factory.mktemp("lab")
    shutil.copy(LESSON, root / LESSON.name)
    course.ensure_kernel()
    port, token = _free_port(), secrets.token_hex(16)
    env = dict(os.environ, SARXAI_PROFILE="ci", SARXAI_DATA=str(course_data_dir),
               JUPYTER_CONFIG_DIR=str(root / ".jupyter-config"), JUPYTERLAB_WORKSPACES_DIR=str(root / ".workspaces"))
    settings = root / ".lab-settings" / "@jupyterlab" / "notebook-extension"
    settings.mkdir(parents=True)
    # render every cell (no virtual scrolling), so that widgets far from the view are in the page
    (settings / "tracker.jupyterlab-settings").write_text('{"windowingMode": "none"}')
    log = root / "jupyterlab.log"
    with open(log, "w") as out:
        server = subprocess.Popen(
            [sys.executable, "-m", "jupyterlab", "--no-browser", f"--port={port}", "--ip=127.0.0.1",
             f"--ServerApp.root_dir={root}", f"--IdentityProvider.token={token}",
             "--LabApp.news_url=", "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate",
             "--LabApp.extension_manager=readonly",
             f"--LabApp.user_settings_dir={root / '.lab-settings'}", *(["--allow-root"] if os.geteuid() == 0 else [])],
            env=env, stdout=out, stderr=subprocess.STDOUT, cwd=root)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 90
        while True:
            try:
                with urllib.request.urlopen(f"{base}/api/status?token={token}", timeout=2) as response:
                    if response.status == 200:
                        break
            except OSError:
                pass
            if server.poll() is not None or time.monotonic() > deadline:
                pytest.fail(f"JupyterLab did not start on port {port}:\n{log.read_text()[-3000:]}")
            time.sleep(0.5)
        yield base, token, log
    finally:
        server.terminate()
        try:
            server.wait(timeout=20)
        except subprocess.TimeoutExpired:
            server.kill()


def _png_of(page, selector: str) -> bytes:
    return page.locator(selector).first.screenshot()


def test_explorer_renders_and_reacts_in_jupyterlab(lab, tmp_path):
    from playwright.sync_api import sync_playwright

    base, token, log = lab
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport={"width": 1500, "height": 1000})
            page.goto(f"{base}/lab/tree/{LESSON.name}?token={token}", wait_until="domcontentloaded")
            page.wait_for_selector(".jp-Notebook .jp-Cell", timeout=120_000)
            # the kernel must be connected (status bar "| Idle") before "Run All Cells" executes anything
            page.wait_for_selector(".jp-Notebook-ExecutionIndicator[data-status='idle']", timeout=120_000)
            page.wait_for_function("() => document.body.innerText.includes('| Idle')", timeout=120_000)
            page.wait_for_timeout(2000)
            page.locator(".lm-MenuBar-itemLabel", has_text="Run").first.click()
            page.locator(".lm-Menu-item[data-command='runmenu:run-all']").click()
            image = ".sarxai-explorer img, img.sarxai-explorer-image"
            page.wait_for_selector(image, state="visible", timeout=RUN_TIMEOUT_MS)
            # wait for the whole lesson to finish: its last cell prints the run time
            page.wait_for_function(
                "() => [...document.querySelectorAll('.jp-OutputArea-output')]"
                ".some(e => e.textContent.includes('lesson 11 ran in'))", timeout=RUN_TIMEOUT_MS)
            page.locator(image).first.scroll_into_view_if_needed()
            page.wait_for_function(
                "() => document.querySelector('.sarxai-explorer-status').textContent.includes('ready')",
                timeout=120_000)
            before_src = page.locator(image).first.get_attribute("src")
            before = _png_of(page, image)
            (tmp_path / "explorer-before.png").write_bytes(before)
            select = page.locator(".sarxai-explorer-method select").first
            current = select.input_value()
            options = [o for o in select.locator("option").all_inner_texts()]
            choice = next(o for o in options if o != select.locator("option:checked").inner_text())
            select.select_option(label=choice)
            page.wait_for_function(
                "([sel, old]) => { const i = document.querySelector(sel); return i && i.getAttribute('src') !== old; }",
                arg=[image.split(", ")[0], before_src], timeout=120_000)
            page.wait_for_function(
                "() => document.querySelector('.sarxai-explorer-status').textContent.includes('ready')",
                timeout=120_000)
            after = _png_of(page, image)
            (tmp_path / "explorer-after.png").write_bytes(after)
            assert select.input_value() != current
            assert after != before, f"choosing {choice!r} in the method dropdown did not change the picture"
        finally:
            browser.close()
    assert "Traceback" not in log.read_text(), log.read_text()[-3000:]
