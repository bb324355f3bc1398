"""Each brand's model, chosen on the brand's own references: how every installed model
separates the brand's fakes from its genuine references, and the choice itself.

The figures are the ones the brand's calibration under each model is fitted on (each photo
group left out in turn, :func:`~ipr_vision.core.suggest.calibrate_brand`), so comparing them
compares what inspections would do. A model's figures need the brand's references embedded
with it: an embedding pass over the brand, done only when asked (``compute``) or when the
model is chosen.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol

from ..core.health import ModelDifference, Separation, model_difference, separation
from ..core.scoring import Calibration, Policy
from ..domain import Actor, AuditAction
from ..embedders import Embedder
from ..storage import AuditTrail, GalleryStore
from .actors import acting
from .brands import BrandCache
from .change_trail import append_receipted
from .models import DEFAULT


@dataclass(frozen=True)
class ModelFigures:
    """One installed model on one brand's references."""

    name: str  # as a brand chooses it: an installed model's name, or "default"
    model_id: str
    default: bool  # the gallery's default model (a brand that chose none uses it)
    chosen: bool  # the model the brand's inspections use now
    missing: int  # references not embedded with it: no figures until they are
    embedded: int  # references this call embedded with it
    #: Per scoring mode: the figures, or why the brand cannot be calibrated in it.
    modes: dict[str, Separation | str]
    skipped_training_photos: int  # references the model was trained on: not scored
    #: Its AUROC less the model in use's on the same references, with a 95 % interval: None
    #: for the model in use, or without figures under both.
    versus_in_use: ModelDifference | None = None

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "model_id": self.model_id, "default": self.default,
                "chosen": self.chosen, "missing": self.missing, "embedded": self.embedded,
                "skipped_training_photos": self.skipped_training_photos,
                "versus_in_use": None if self.versus_in_use is None
                else self.versus_in_use.to_dict(),
                "modes": {mode: figures if isinstance(figures, str) else figures.to_dict()
                          for mode, figures in self.modes.items()}}


@dataclass(frozen=True)
class ModelComparison:
    """Every installed model on one brand's references, at the brand's operating point."""

    brand: str
    choice: str | None  # the name the brand chose; None: the gallery's default
    max_genuine_flagged: float
    models: list[ModelFigures]

    def to_dict(self) -> dict[str, Any]:
        return {"brand": self.brand, "choice": self.choice,
                "max_genuine_flagged": self.max_genuine_flagged,
                "models": [model.to_dict() for model in self.models]}


class _Front(Protocol):
    """What the mixin uses of the gallery it is mixed into."""

    store: GalleryStore
    audit: AuditTrail
    _brands: BrandCache

    def brands(self) -> list[str]: ...

    def policy_for(self, brand: str) -> Policy: ...

    def model_for(self, brand: str) -> Embedder: ...


class ModelChoice:
    """Per-brand models, as :class:`~.gallery.Gallery` offers them."""

    def model_for(self: _Front, brand: str) -> Embedder:
        """The model the brand's references and inspected photos are embedded with."""
        return self._brands.embedder(brand)

    def set_model(self: _Front, brand: str, model: str, *, by: Actor | None = None) -> int:
        """Choose the brand's model: an installed model's name or id, or "default" (the
        gallery's). The brand's references are embedded with it first (returns how many), so
        inspections switch at once, here and on every server sharing the gallery."""
        self.store.require_brand(brand)
        name = self._brands.models.resolve(model)
        chosen = self._brands.models.named(name)
        embedded = self._brands.embed_missing(brand, chosen)
        self.store.set_brand_model(brand, name, before_commit=lambda done: append_receipted(
            self.audit, acting(by), AuditAction.BRAND_MODEL, brand=brand,
            model=name or DEFAULT, model_id=chosen.model_id,
            previous=done.previous or DEFAULT))
        self._brands.forget(brand)
        return embedded

    def compare_models(self: _Front, brand: str, *, compute: bool = False) -> ModelComparison:
        """Each installed model's left-out figures on the brand's references: AUROC and the
        share of known fakes caught at the brand's operating point and at 1 % and 5 % of
        genuine flagged; each other model's AUROC is also set against the one in use's on the
        same references, with a 95 % interval. A model the brand is not embedded with has none
        unless ``compute`` (an embedding pass over the brand's references with it; the vectors
        are kept)."""
        self.store.require_brand(brand)
        chosen = self._brands.embedder(brand).model_id
        default = self._brands.models.default().model_id
        _, in_use = self._brands.get(brand)
        figures = []
        for name, embedder in self._brands.models.installed().items():
            missing = len(self._brands.missing(brand, embedder))
            embedded = self._brands.embed_missing(brand, embedder) if compute and missing else 0
            modes: dict[str, Separation | str] = {}
            skipped = 0
            versus = None
            if embedded == missing:
                _, calibration = self._brands.under(brand, embedder)
                modes = {mode: separation(fitted) if isinstance(fitted, Calibration) else fitted
                         for mode, fitted in calibration.by_mode.items()}
                skipped = len(calibration.skipped)
                if embedder.model_id != chosen:
                    versus = model_difference(calibration, in_use)
            figures.append(ModelFigures(name, embedder.model_id, embedder.model_id == default,
                                        embedder.model_id == chosen, missing - embedded,
                                        embedded, modes, skipped, versus))
        return ModelComparison(brand, self.store.brand_model(brand),
                               self.policy_for(brand).max_genuine_flagged, figures)

    def stale_embeddings(self: _Front) -> dict[str, int]:
        """References per brand with no vector (or cells) from the brand's model: a gallery
        built with another model (the ImageNet fallback, an older checkpoint) until it is
        re-embedded."""
        counts = {b: len(self._brands.missing(b)) for b in self.brands()}
        return {brand: count for brand, count in counts.items() if count}

    def reembed(self: _Front, brand: str | None = None) -> int:
        """Embed every reference lacking a vector under its brand's model; returns how many."""
        return sum(self._brands.embed_missing(b) for b in ([brand] if brand else self.brands()))
