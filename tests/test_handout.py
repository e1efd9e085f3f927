"""The offline HTML handout: no network references, formulas as MathML, widgets as static pictures; and a real
browser that loads a lesson page with the network blocked and checks that the math is laid out."""

from __future__ import annotations

import os
import re
from pathlib import Path

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook, new_output

from sarxai_utils import course, handout

CHROMIUM = Path(os.environ.get("SARXAI_CHROMIUM", "/usr/bin/chromium"))
PNG = "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg=="


def _widget_notebook() -> nbformat.NotebookNode:
    """A notebook as papermill leaves it after showing VBox([Dropdown, Output(image)]), widget state included."""
    nb = new_notebook()
    view = new_output("display_data", data={handout.WIDGET_VIEW: {"model_id": "box", "version_major": 2},
                                            "text/plain": "VBox(...)"})
    nb.cells = [new_markdown_cell("The score is $\\frac{a}{b}$ and\n\n$$\\sum_i x_i$$"),
                new_code_cell("show()", outputs=[view, new_output("stream", text="after\n")])]
    state = {
        "box": {"model_name": "VBoxModel", "state": {"children": ["IPY_MODEL_menu", "IPY_MODEL_out"]}},
        "menu": {"model_name": "DropdownModel", "state": {"description": "method", "index": 1,
                                                          "_options_labels": ["Saliency", "Grad-CAM"]}},
        "out": {"model_name": "OutputModel", "state": {"outputs": [
            {"output_type": "display_data", "data": {"image/png": PNG, "text/plain": "<Figure>"}, "metadata": {}}]}},
    }
    nb.metadata["widgets"] = {handout.WIDGET_STATE: {"state": state, "version_major": 2, "version_minor": 0}}
    return nb


def _urls(page: str) -> set[str]:
    """Every URL a page would fetch: src/href attributes and CSS url(...), other than data: and anchors."""
    found = re.findall(r'(?:src|href)\s*=\s*["\']([^"\'#][^"\']*)["\']', page) + re.findall(r"url\(([^)]+)\)", page)
    return {u.strip("'\" ") for u in found if not u.strip("'\" ").startswith(("data:", "#"))}


def test_static_widgets_show_the_output_widgets_and_controls():
    nb = _widget_notebook()
    out = handout.static_widgets(nb)
    kinds = [o.get("data", {}).keys() for o in out.cells[1].outputs]
    assert [sorted(k) for k in kinds] == [["text/html", "text/plain"], ["image/png", "text/plain"], []]
    assert "method = Grad-CAM" in out.cells[1].outputs[0]["data"]["text/plain"]
    assert out.cells[1].outputs[2]["text"] == "after\n", "other outputs stay, in order"
    assert "widgets" not in out.metadata and "widgets" in nb.metadata, "the input notebook is not changed"


def test_static_widgets_leave_out_progress_bars():
    nb = _widget_notebook()
    bar = new_output("display_data", data={handout.WIDGET_VIEW: {"model_id": "bar", "version_major": 2}})
    nb.cells[1].outputs.insert(0, bar)
    state = nb.metadata["widgets"][handout.WIDGET_STATE]["state"]
    state["bar"] = {"model_name": "HBoxModel", "state": {"children": ["IPY_MODEL_label", "IPY_MODEL_progress"]}}
    state["label"] = {"model_name": "HTMLModel", "state": {"value": "scoring: 100%"}}
    state["progress"] = {"model_name": "FloatProgressModel", "state": {"value": 8.0, "max": 8.0}}
    out = handout.static_widgets(nb)
    texts = [o.get("data", {}).get("text/plain", o.get("text", "")) for o in out.cells[1].outputs]
    assert len(texts) == 3 and texts[0].startswith("Interactive") and "FloatProgress" not in " ".join(texts)


def test_static_widgets_without_state_leave_a_note():
    nb = _widget_notebook()
    del nb.metadata["widgets"]
    out = handout.static_widgets(nb)
    texts = [o.get("data", {}).get("text/plain", "") for o in out.cells[1].outputs]
    assert texts[0].startswith("Interactive in JupyterLab") and len(out.cells[1].outputs) == 2


def test_page_references_nothing_on_the_network_and_has_mathml():
    page, _ = handout.OfflineHTMLExporter().from_notebook_node(_widget_notebook())
    assert not {u for u in _urls(page) if re.match(r"(https?:)?//", u)}, "the page would fetch from the network"
    assert "<script src" not in page
    assert page.count("<math") == 2 and "<mfrac>" in page and 'display="block"' in page
    assert "$\\frac" not in page and "$$" not in page
    assert f"data:image/png;base64,{PNG}" in page and "method = Grad-CAM" in page


def test_every_lesson_formula_converts():
    for path in course.notebooks():
        page, _ = handout.OfflineHTMLExporter().from_notebook_node(nbformat.read(path, as_version=4))
        assert not re.search(r"\$[^$\s][^$]*\\[a-zA-Z]+[^$]*\$", page), f"{path.name}: LaTeX left in the page"
        assert not {u for u in _urls(page) if re.match(r"(https?:)?//", u)}, f"{path.name}: a network reference"


def test_render_html_writes_the_offline_page(tmp_path):
    nbformat.write(_widget_notebook(), tmp_path / "05_x.ipynb")
    target = course.render_html(tmp_path / "05_x.ipynb")
    assert target == tmp_path / "05_x.html" and "<mfrac>" in target.read_text()


@pytest.mark.browser
def test_browser_renders_the_math_offline(tmp_path):
    """Chromium opens a lesson page from disk with every network request blocked; the page asks for nothing, and a
    fraction is laid out as one (numerator above denominator), which raw LaTeX or unrendered MathML is not."""
    if not CHROMIUM.exists():
        pytest.skip(f"Chromium is not installed at {CHROMIUM} (apt-get install chromium, or set SARXAI_CHROMIUM)")
    sync_api = pytest.importorskip("playwright.sync_api", reason="the playwright package is missing")
    lesson = next(p for p in course.notebooks() if p.name.startswith("08_"))
    page_path = tmp_path / "lesson.html"
    body, _ = handout.OfflineHTMLExporter().from_notebook_node(nbformat.read(lesson, as_version=4))
    page_path.write_text(body, encoding="utf-8")
    requested: list[str] = []
    with sync_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), headless=True,
                                    args=["--no-sandbox", "--disable-gpu", "--disable-background-networking"])
        try:
            page = browser.new_page()

            def block(route):
                if not route.request.url.startswith(("file:", "data:")):
                    requested.append(route.request.url)
                    return route.abort()
                return route.continue_()

            page.route("**/*", block)
            page.goto(page_path.as_uri(), wait_until="load")
            n_math = page.evaluate("document.querySelectorAll('math').length")
            fractions = page.evaluate("""() => [...document.querySelectorAll('mfrac')].map(f => {
                const [num, den] = [...f.children].map(c => c.getBoundingClientRect());
                return {above: num.bottom <= den.top + 1, width: f.getBoundingClientRect().width};
            })""")
            text = page.evaluate("document.body.innerText")
        finally:
            browser.close()
    assert requested == [], f"the page asked the network for {requested}"
    assert n_math > 0, "no MathML in the page"
    assert fractions and all(f["above"] and f["width"] > 0 for f in fractions), f"fractions not laid out: {fractions}"
    assert "\\frac" not in text and "$$" not in text, "raw LaTeX is visible"
