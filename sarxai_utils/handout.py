"""The HTML handout of an executed lesson that needs no network: formulas as MathML, widgets as static pictures.

nbconvert's ``lab`` template loads MathJax, require.js, mermaid and the widget manager from CDNs, so offline a page
shows raw LaTeX and no widgets. :class:`OfflineHTMLExporter` keeps the ``lab`` look (its CSS is inlined) and instead
converts every formula to MathML with ``latex2mathml`` (browsers render MathML natively) and replaces each widget
output by what the widgets showed when the lesson ran (the pictures and text of its ``Output`` widgets and the values
of its controls, read from the widget state that papermill stores), so the page loads nothing from the internet.
"""

from __future__ import annotations

import copy
import html
from typing import Any

import nbformat
from jinja2 import DictLoader, pass_context
from latex2mathml.converter import convert as latex_to_mathml
from nbconvert import HTMLExporter
from nbconvert.filters.markdown_mistune import IPythonRenderer, MarkdownWithMath

WIDGET_VIEW = "application/vnd.jupyter.widget-view+json"
WIDGET_STATE = "application/vnd.jupyter.widget-state+json"
TEMPLATE = "sarxai_offline.html.j2"
PROGRESS_MODELS = ("FloatProgressModel", "IntProgressModel")  # tqdm's bars in a notebook: transient, not shown
PROGRESS = "<progress bar>"
# the lab template without the <script> tags that fetch require.js, MathJax, mermaid and the widget manager
TEMPLATE_SOURCE = """{%- extends 'lab/index.html.j2' -%}
{%- block html_head_js_requirejs -%}{%- endblock html_head_js_requirejs -%}
{%- block html_head_js_mathjax -%}{%- endblock html_head_js_mathjax -%}
{%- block html_head_js_mermaidjs -%}{%- endblock html_head_js_mermaidjs -%}
{%- block jupyter_widgets -%}{%- endblock jupyter_widgets -%}
"""


class MathMLRenderer(IPythonRenderer):
    """nbconvert's Markdown renderer with formulas written as MathML instead of ``$...$`` for MathJax."""

    def inline_math(self, body: str) -> str:
        return latex_to_mathml(body)

    def block_math(self, body: str) -> str:
        return latex_to_mathml(body, display="block")

    def latex_environment(self, name: str, body: str) -> str:
        return latex_to_mathml(f"\\begin{{{name}}}{body}\\end{{{name}}}", display="block")


class OfflineHTMLExporter(HTMLExporter):
    """HTMLExporter (``lab`` look) whose pages load nothing from the network (see the module's docstring)."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(template_name="lab", extra_loaders=[DictLoader({TEMPLATE: TEMPLATE_SOURCE})], **kwargs)
        self.template_file = TEMPLATE

    @pass_context
    def markdown2html(self, context: dict, source: str) -> str:
        cell = context.get("cell", {})
        path = context.get("resources", {}).get("metadata", {}).get("path", "")
        renderer = MathMLRenderer(escape=False, attachments=cell.get("attachments", {}),
                                  embed_images=self.embed_images, path=path, anchor_link_text=self.anchor_link_text,
                                  exclude_anchor_links=self.exclude_anchor_links, **self.lexer_options)
        return MarkdownWithMath(renderer=renderer).render(source)

    def from_notebook_node(self, nb: nbformat.NotebookNode, resources: dict | None = None, **kw: Any):
        return super().from_notebook_node(static_widgets(nb), resources, **kw)


def _model_id(reference: Any) -> str | None:
    """``"IPY_MODEL_<id>"`` (how a widget refers to another) -> ``<id>``; anything else -> None."""
    if isinstance(reference, str) and reference.startswith("IPY_MODEL_"):
        return reference[len("IPY_MODEL_"):]
    return None


def _widget_outputs(model_id: str, state: dict, controls: list[str], seen: set[str]) -> list[dict]:
    """The outputs shown by widget ``model_id`` and its children, depth first; control values go to ``controls``."""
    if model_id in seen or model_id not in state:
        return []
    seen.add(model_id)
    model = state[model_id]
    values = model.get("state", {})
    if model.get("model_name") == "OutputModel":
        return [copy.deepcopy(o) for o in values.get("outputs", [])]
    if model.get("model_name") in PROGRESS_MODELS:
        controls.append(PROGRESS)
        return []
    label = (values.get("description") or model.get("model_name", "").removesuffix("Model")).rstrip(":")
    if isinstance(values.get("index"), int) and values.get("_options_labels"):  # selection widgets: the chosen label
        controls.append(f"{label} = {values['_options_labels'][values['index']]}")
    elif "value" in values and model.get("model_name") not in ("HTMLModel", "LabelModel", "HTMLMathModel"):
        controls.append(f"{label} = {values['value']}")
    found = []
    for child in values.get("children", []):
        child_id = _model_id(child)
        if child_id:
            found += _widget_outputs(child_id, state, controls, seen)
    return found


def static_widgets(nb: nbformat.NotebookNode) -> nbformat.NotebookNode:
    """A copy of an executed notebook in which each widget output is replaced by a note naming the controls' values
    and by the outputs its ``Output`` widgets held, and progress bars are left out; the widget state is dropped (no
    widget manager is needed)."""
    nb = copy.deepcopy(nb)
    state = nb.metadata.get("widgets", {}).get(WIDGET_STATE, {}).get("state", {})
    for cell in nb.cells:
        if cell.cell_type != "code":
            continue
        outputs = []
        for output in cell.get("outputs", []):
            view = output.get("data", {}).get(WIDGET_VIEW)
            if view is None:
                outputs.append(output)
                continue
            controls: list[str] = []
            shown = _widget_outputs(view.get("model_id", ""), state, controls, set())
            if PROGRESS in controls and not shown:
                continue  # a progress bar (tqdm): the work it tracked is over; the page leaves it out
            note = "Interactive in JupyterLab; here, what it showed when the lesson ran"
            note += f" ({', '.join(controls)})." if controls else "."
            outputs.append(nbformat.v4.new_output("display_data", data={
                "text/html": f'<p class="sarxai-static-widget"><em>{html.escape(note)}</em></p>', "text/plain": note}))
            outputs += [nbformat.from_dict(o) for o in shown]
        cell.outputs = outputs
    nb.metadata.pop("widgets", None)
    return nb
