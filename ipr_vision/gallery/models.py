"""The models a gallery can embed with: its default, and the installed ones a brand may choose
by name (:data:`~ipr_vision.embedders.MODELS`).

A brand whose goods the default model does not suit (the fine-tuned model was shaped by sneaker
photos) is not held to it: its right holder compares the models on the brand's own references
(:mod:`.model_choice`) and chooses one. The choice is stored by name, not by model id, so a
brand that chose "imagenet" keeps ImageNet features when the fine-tuned checkpoint is replaced.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from ..embedders import Embedder, installed_models, shared_model
from ..errors import GalleryError, WeightsMissingError

log = logging.getLogger(__name__)

#: What a brand is given when it chose nothing, and how the gallery's own default is listed
#: when it is none of the installed models (a checkpoint of one's own, an embedder passed in).
DEFAULT = "default"


class Models:
    """The gallery's default model (``default``, loaded on first use) and the installed ones,
    each loaded once per process and shared; a named model that is the default model is the
    default's instance (an app server's batching queue, a test's embedder). When the default
    queues its callers (``alongside``, :class:`~ipr_vision.embedders.batching.BatchingEmbedder`
    on an app server), every other model joins its queue, so a brand that chose another model
    is batched too and two networks never fight over the cores."""

    def __init__(self, default: Callable[[], Embedder]) -> None:
        self.default = default
        self._queued: dict[str, Embedder] = {}

    def _shared(self, name: str, default: Embedder) -> Embedder:
        model = shared_model(name)
        if model.model_id == default.model_id:
            return default
        alongside = getattr(default, "alongside", None)
        if alongside is None:
            return model
        if name not in self._queued:
            self._queued[name] = alongside(model)
        return self._queued[name]

    def named(self, name: str | None) -> Embedder:
        """The model a brand's choice names (None: the default). A chosen model whose weights
        went missing gives way to the default, with a warning, rather than stop the brand."""
        default = self.default()
        if name is None or name == DEFAULT:
            return default
        try:
            return self._shared(name, default)
        except (WeightsMissingError, ValueError) as error:
            log.warning("%s; using the gallery's default model %s", error, default.model_id)
            return default

    def installed(self) -> dict[str, Embedder]:
        """Every model a brand may choose, by name: the installed ones, and the default first
        under :data:`DEFAULT` when it is none of them."""
        default = self.default()
        found = {}
        for name in installed_models():
            try:
                found[name] = self._shared(name, default)
            except WeightsMissingError as error:  # present but altered: not choosable
                log.warning("%s", error)
        if all(model is not default for model in found.values()):
            found = {DEFAULT: default, **found}
        return found

    def resolve(self, model: str) -> str | None:
        """What a brand's choice stores for a model named or identified as given (a name, or
        a model id as ``gallery model`` prints it): its name, or None for the default."""
        installed = self.installed()
        for name, embedder in installed.items():
            if model in (name, embedder.model_id):
                return None if name == DEFAULT else name
        if model == DEFAULT:
            return None
        raise GalleryError(f"no installed model {model!r} (installed: "
                           f"{', '.join(installed)})", key="error.no_model", model=model,
                           installed=", ".join(installed))
