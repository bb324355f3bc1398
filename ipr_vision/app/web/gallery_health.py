"""The Gallery tab's figures: a product's health panel, in plain words with the numbers in
small print, and the brand's operating point, which is the brand's (every product is judged at
it), so it is set beside the brand, never inside one product's panel."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import gradio as gr

from ...core.health import ProductHealth
from ...core.roles import can_manage
from ...figures.plots import health_figures
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


def build_operating(ui: Ui) -> tuple[Any, Any, Any]:
    """The brand's operating point (slider, Set button, status), for beside the brand."""
    with gr.Row(equal_height=True, elem_id="gallery-operating-row"):
        share = ui.text(gr.Slider(0.5, 20, value=1, step=0.5, label="share",
                                  elem_id="gallery-share", scale=3), "operating_slider")
        with gr.Column(scale=1, min_width=200):
            set_share = ui.text(gr.Button("Set", elem_id="gallery-set-share"),
                                "set_operating", "value")
            status = gr.Markdown(elem_id="gallery-operating-status")
    return share, set_share, status


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


def wire_operating(ui: Ui, lang: Any, brand: Any, controls: tuple[Any, Any, Any],
                   health: Health, product: Any) -> None:
    """Show the brand's operating point when the brand changes; Set stores it and redraws
    the health figures on screen, which are judged at it."""
    share, set_share, status = controls
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
        lines.append(t(lang, "health_trained", count=h.trained_included))
    separation = h.separation_grade
    lines.append(t(lang, "health_separation", grade=t(lang, f"grade_{separation}"),
                   auroc=f"{h.auroc:.3f}") if separation else t(lang, "health_no_separation"))
    calibration = h.calibration_grade
    lines.append(t(lang, "health_calibration", grade=t(lang, f"grade_{calibration}"),
                   ece=f"{h.ece:.3f}") if calibration else t(lang, "health_no_calibration"))
    lines.append(t(lang, "health_catch", flag=percent(h.max_genuine_flagged),
                   flagged=percent(h.genuine_flagged), catch=percent(h.expected_fake_caught)))
    return "\n\n".join(lines)
