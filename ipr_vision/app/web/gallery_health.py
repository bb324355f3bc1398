"""The Gallery tab's figures: a product's health panel, in plain words with the numbers in
small print, and the brand's operating point, which is the brand's (every product is judged at
it), so it is set beside the brand, never inside one product's panel.

The brand's model is the brand's too, so it sits there as well (issue 18): each installed
model's left-out figures on the brand's references in plain words (how many known fakes it
catches at the brand's operating point, how well it separates them), which one is in use, and
a choice to switch, which may embed the brand's references first and says so while it runs.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import gradio as gr

from ...core.health import SEPARATION_GRADES, ProductHealth, Separation
from ...core.roles import can_manage
from ...figures.plots import health_figures
from ...gallery.model_choice import ModelComparison, ModelFigures
from .common import Refused, Ui, md, noted, percent, said, warning
from .i18n import t


@dataclass(frozen=True)
class Health:
    """The health panel's parts: :meth:`refresh` redraws it after any change to the product's
    references or the brand's operating point, when it is on screen."""

    ui: Ui
    shown: Any  # gr.State: the product whose figures are on screen (None: none yet)
    text: Any
    status: Any
    plots: tuple[Any, Any, Any]

    def outputs(self) -> list[Any]:
        return [self.shown, self.text, self.status, *self.plots]

    def compute(self, lang: str, brand: str | None, product: str | None,
                request: gr.Request) -> tuple[Any, ...]:
        with noted() as problem:
            if not brand or not product:
                raise Refused("choose_brand")
            h = self.ui.service.health(self.ui.user(request), brand, product)
            figures = health_figures(h, lang)
            # A product that cannot be scored has no figures: its plots are hidden, the text
            # says why.
            return (product, health_markdown(lang, h), "",
                    *(gr.update(value=figures.get(name), visible=name in figures)
                      for name in ("roc", "scores", "reliability")))
        return (gr.update(), gr.update(), warning(problem.error), *(gr.update() for _ in range(3)))

    def refresh(self, lang: str, brand: str | None, product: str | None, shown: str | None,
                request: gr.Request) -> tuple[Any, ...]:
        """Redraw the figures if they show this product; otherwise leave the panel be."""
        if shown is None or shown != product:
            return tuple(gr.update() for _ in self.outputs())
        return self.compute(lang, brand, product, request)


@dataclass(frozen=True)
class Operating:
    """The brand's own settings, beside the brand: its operating point (slider, Set, status)
    and its model (the comparison, the choice, Use, status)."""

    share: Any
    set_share: Any
    status: Any
    models: Any
    model: Any
    use_model: Any
    model_status: Any


def build_operating(ui: Ui) -> Operating:
    """The brand's operating point and its model, for beside the brand."""
    with gr.Row(equal_height=True, elem_id="gallery-operating-row"):
        share = ui.text(gr.Slider(0.5, 20, value=1, step=0.5, label="share",
                                  elem_id="gallery-share", scale=3), "operating_slider")
        with gr.Column(scale=1, min_width=200):
            set_share = ui.text(gr.Button("Set", elem_id="gallery-set-share"),
                                "set_operating", "value")
            status = gr.Markdown(elem_id="gallery-operating-status")
    with gr.Accordion("model", open=False, elem_id="gallery-models") as box:
        ui.text(box, "models_title")
        models = gr.Markdown(elem_id="gallery-models-text")
        with gr.Row(equal_height=True):
            model = ui.text(gr.Dropdown(label="model", choices=[], elem_id="gallery-model"),
                            "models_choice")
            use_model = ui.text(gr.Button("Use", elem_id="gallery-model-set"), "models_set",
                                "value")
        model_status = gr.Markdown(elem_id="gallery-model-status")
    return Operating(share, set_share, status, models, model, use_model, model_status)


def build_health(ui: Ui) -> tuple[Health, Any]:
    """The product's health panel and its Compute button."""
    with gr.Accordion("health", open=True) as box:
        ui.text(box, "health")
        with gr.Row(equal_height=True):
            compute = ui.text(gr.Button("Compute", elem_id="gallery-health", scale=0,
                                        min_width=220), "health_button", "value")
            status = gr.Markdown(elem_id="gallery-health-status")
        text = gr.Markdown(elem_id="gallery-health-text")
        with gr.Row():
            # Each plot carries its own translated title; a component label would cover it.
            plots = tuple(gr.Image(show_label=False, interactive=False, buttons=[],
                                   visible=False, elem_id=f"gallery-{name}")
                          for name in ("roc", "histogram", "reliability"))
    return Health(ui, gr.State(None), text, status, (plots[0], plots[1], plots[2])), compute


def wire_operating(ui: Ui, lang: Any, brand: Any, controls: Operating, health: Health,
                   product: Any) -> None:
    """Show the brand's operating point and models when the brand changes; Set and Use store
    them and redraw the health figures on screen, which are judged at and with them."""
    share, set_share, status = controls.share, controls.set_share, controls.status
    private = {"api_visibility": "private"}

    def current(lang: str, brand: str | None, request: gr.Request) -> tuple[Any, str]:
        with noted() as problem:
            if not brand:
                return gr.update(), ""
            user = ui.user(request)
            ui.service.products(user, brand)  # checks the user sees the brand
            value = ui.service.gallery.policy_for(brand).max_genuine_flagged
            return (gr.update(value=100 * value, interactive=can_manage(user, brand)),
                    t(lang, "operating_current", brand=brand, flag=percent(value)))
        return gr.update(), warning(problem.error)

    def store(brand: str | None, value: float, request: gr.Request) -> str:
        with noted() as problem:
            if not brand:
                raise Refused("choose_brand")
            ui.service.set_operating_point(ui.user(request), brand, value / 100)
            return said("operating_set", brand=brand, flag=percent(value / 100))
        return warning(problem.error)

    brand.change(current, [lang, brand], [share, status], **private)
    lang.change(current, [lang, brand], [share, status], **private)
    set_share.click(store, [brand, share], status, **private).then(
        health.refresh, [lang, brand, product, health.shown], health.outputs(), **private)
    _wire_models(ui, lang, brand, controls, health, product)


def _wire_models(ui: Ui, lang: Any, brand: Any, controls: Operating, health: Health,
                 product: Any) -> None:
    """The brand's models compared (on a brand or language change, and after a switch); Use
    says it is working at once, since embedding the brand with a model takes minutes."""
    private = {"api_visibility": "private"}
    text, model, use, status = (controls.models, controls.model, controls.use_model,
                                controls.model_status)

    def compared(lang: str, brand: str | None, request: gr.Request) -> tuple[Any, Any]:
        with noted() as problem:
            if not brand:
                return "", gr.update(choices=[], value=None)
            user = ui.user(request)
            comparison = ui.service.compare_models(user, brand)
            names = [m.name for m in comparison.models]
            chosen = next((m.name for m in comparison.models if m.chosen), None)
            return (models_markdown(lang, comparison),
                    gr.update(choices=names, value=chosen, interactive=can_manage(user, brand)))
        return warning(problem.error), gr.update()

    def switch(brand: str | None, name: str | None, request: gr.Request) -> str:
        with noted() as problem:
            if not brand or not name:
                raise Refused("choose_brand")
            count = ui.service.set_model(ui.user(request), brand, name)
            return said("models_done", brand=brand, name=name, count=count)
        return warning(problem.error)

    brand.change(compared, [lang, brand], [text, model], **private)
    lang.change(compared, [lang, brand], [text, model], **private)
    working = use.click(
        lambda name: (gr.update(interactive=False), said("models_working", name=name or "")),
        model, [use, status], queue=False, **private).then(
        switch, [brand, model], status, **private)
    working.then(lambda: gr.update(interactive=True), None, use, queue=False, **private).then(
        compared, [lang, brand], [text, model], **private).then(
        health.refresh, [lang, brand, product, health.shown], health.outputs(), **private)


def models_markdown(lang: str, comparison: ModelComparison) -> str:
    """Each installed model on the brand in a sentence: the known fakes it catches at the
    brand's operating point and how well it separates them, the one in use marked."""
    lines = [md(lang, "models_intro", brand=comparison.brand,
                flag=percent(comparison.max_genuine_flagged)), ""]
    lines += [f"- {_model_line(lang, m)}" for m in comparison.models]
    return "\n".join(lines)


def _model_line(lang: str, m: ModelFigures) -> str:
    """One model's figures in its scoring mode against known fakes (the one where a model's
    choice shows), else its other mode; or why it has none."""
    used = t(lang, "models_in_use") if m.chosen else ""
    if m.missing:
        return md(lang, "models_missing", name=m.name, used=used, count=m.missing)
    figures = m.modes.get("contrast") or next(iter(m.modes.values()), None)
    if not isinstance(figures, Separation):
        return md(lang, "models_no_figures", name=m.name, used=used,
                  reason=figures or t(lang, "health_no_separation"))
    grade = next((word for bound, word in SEPARATION_GRADES if figures.auroc >= bound), None)
    line = md(lang, "models_line", name=m.name, used=used, caught=percent(figures.fake_caught),
              grade=t(lang, f"grade_{grade}") if grade else "–",
              auroc="–" if figures.auroc != figures.auroc else f"{figures.auroc:.3f}")
    versus = m.versus_in_use
    if versus is None:
        return line
    # A point of its own under the model's (the list item's indent nests it).
    return line + "\n  - " + t(lang, f"models_versus_{versus.verdict}",
                                auroc=f"{versus.auroc:+.3f}", low=f"{versus.low:+.3f}",
                                high=f"{versus.high:+.3f}", count=versus.references)


def health_markdown(lang: str, h: ProductHealth) -> str:
    """The health figures as sentences: a word for each measure, its number in small print."""
    lines = [t(lang, "health_counts", genuine=h.genuine, fake=h.fake,
               genuine_groups=h.genuine_groups, fake_groups=h.fake_groups)]
    if h.reason:
        lines.append(md(lang, "health_reason", reason=h.reason))
        return "\n\n".join(lines)
    if h.skipped:
        lines.append(t(lang, "health_skipped", count=h.skipped))
    if h.trained_included:
        lines.append(t(lang, "health_trained_moved" if h.trained_moved else "health_trained",
                       count=h.trained_included))
    separation = h.separation_grade
    low, high = h.auroc_ci95 or (float("nan"), float("nan"))
    lines.append(t(lang, "health_separation", grade=t(lang, f"grade_{separation}"),
                   auroc=f"{h.auroc:.3f}", low=f"{low:.2f}", high=f"{high:.2f}")
                 if separation else t(lang, "health_no_separation"))
    calibration = h.calibration_grade
    lines.append(t(lang, "health_calibration", grade=t(lang, f"grade_{calibration}"),
                   ece=f"{h.ece:.3f}") if calibration else t(lang, "health_no_calibration"))
    lines.append(t(lang, "health_catch", flag=percent(h.max_genuine_flagged),
                   flagged=percent(h.genuine_flagged), catch=percent(h.expected_fake_caught)))
    return "\n\n".join(lines)
