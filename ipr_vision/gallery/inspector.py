"""One photo in, one suggestion out: quality gate, embedding, search and the brand's calibration.

The verdict itself is the pure core's (:func:`ipr_vision.core.suggest.assess`); this module
brings it the photo's embedding and the brand's loaded index, and turns reference ids back into
the references an officer looks at.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np

from ..core.quality import assess_quality
from ..core.suggest import ItemCandidate, assess, propose_items
from ..domain import Reference, Verdict
from ..embedders import Embedder, draft_size, with_cells
from ..errors import GalleryError
from ..intake.photo import Photo, read_photo
from ..results import Match, Suggestion
from ..storage import GalleryStore
from .brands import BrandCache

#: The quality gate runs beside the network: the two read the same decoded photo and neither
#: needs the other, and the network at one photo a call leaves gaps on the cores (one
#: inspection 22.4 -> 20.3 ms p50 on 2 cores, of a 4.5 ms gate). One thread: under load the
#: cores are busy anyway, and the gate is a small share of an inspection.
_GATE = ThreadPoolExecutor(1, thread_name_prefix="ipr-quality-gate")

#: Vectors of the photos embedded last, kept for "what is this item?": the photo is embedded
#: to propose a brand and then inspected under it, and the second pass would cost as much as
#: the first (most of an inspection's time).
RECENT_VECTORS = 32


class Inspector:
    """Suggestions for photos of a gallery's brands."""

    def __init__(self, store: GalleryStore, brands: BrandCache) -> None:
        self.store, self.brands = store, brands
        self._recent: OrderedDict[tuple[str, str, tuple[int, int]],
                                  tuple[np.ndarray, np.ndarray | None]] = OrderedDict()
        self._recent_lock = threading.Lock()

    def embed(self, embedder: Embedder, photo: Photo) -> tuple[np.ndarray, np.ndarray | None]:
        """The photo's vector under ``embedder`` and, under a model with cells, its cells
        (None otherwise): the same file decoded at the same size embeds to the same vector,
        so one embedded moments ago is not embedded again."""
        key = (embedder.model_id, photo.sha256, photo.image.size)
        with self._recent_lock:
            if key in self._recent:
                self._recent.move_to_end(key)
                return self._recent[key]
        cells_of = with_cells(embedder)
        if cells_of is None:
            embedded: tuple[np.ndarray, np.ndarray | None] = (
                embedder.embed([photo.image])[0], None)
        else:
            vectors, cells = cells_of.embed_with_cells([photo.image])
            embedded = vectors[0], cells[0]
        with self._recent_lock:
            self._recent[key] = embedded
            while len(self._recent) > RECENT_VECTORS:
                self._recent.popitem(last=False)
        return embedded

    def read(self, source: str | Path | bytes | Photo, name: str | None = None,
             brand: str | None = None) -> Photo:
        """A photo decoded at the size the brand's model needs (no brand: the default
        model's). A photo decoded before at a smaller size than that (for another model) is
        decoded again from its bytes, so a brand's model never sees it enlarged."""
        embedder = self.brands.models.default() if brand is None else self.brands.embedder(brand)
        side = draft_size(embedder)
        if not isinstance(source, Photo):
            return read_photo(source, name=name, draft_size=side)
        if side is not None and min(source.image.size) < min(side, *source.original_size):
            return read_photo(source.data, name=source.name, draft_size=side)
        return source

    def inspect(self, source: str | Path | bytes | Photo, brand: str, product: str | None,
                name: str | None = None) -> Suggestion:
        """Suggest genuine / counterfeit / inconclusive for one photo of a brand's product;
        an unknown brand or product is refused before the photo is read."""
        view, brand_calibration = self.brands.get(brand)  # one state, frozen
        if product is not None and product not in view.index.products:
            known = ", ".join(self.store.products(brand)) or "none yet"
            raise GalleryError(f"brand {brand!r} has no product {product!r} (products: {known})")
        photo = self.read(source, name, brand)
        embedder = view.embedder  # the model the brand's index was loaded under
        gate = _GATE.submit(assess_quality, photo.image, photo.original_size)
        query, cells = self.embed(embedder, photo)
        quality = gate.result()
        policy = view.policy  # the operating point its calibration was fitted for
        result = assess(query, view.index, brand_calibration, policy, product,
                        query_cells=cells)
        verdict, reason = result.verdict, result.reason
        if not quality.ok:  # a poor photo gets no confident verdict, whatever it scored
            verdict = Verdict.INCONCLUSIVE
            hints = " ".join(check.hint_en for check in quality.failed)
            reason = f"photo quality: {hints}" + (f" Also: {reason}" if reason else "")
        refs = self.references([i for i, _ in result.nearest_genuine + result.nearest_fake])
        calibration = result.calibration
        return Suggestion(
            photo=photo.name, photo_sha256=photo.sha256, brand=brand, product=result.product,
            product_proposed=product is None, product_candidates=result.product_candidates,
            verdict=verdict, p_counterfeit=result.p_counterfeit,
            calibrated=bool(calibration and calibration.calibrated), reason=reason,
            score=result.score, mode=result.mode,
            nearest_genuine=[match(refs[i], s) for i, s in result.nearest_genuine],
            nearest_fake=[match(refs[i], s) for i, s in result.nearest_fake],
            operating_point=None if calibration is None else calibration.operating_point(
                policy.max_genuine_flagged).to_dict(),
            model=embedder.model_id, gallery_revision=view.revision, quality=quality)

    def identify(self, source: str | Path | bytes | Photo, brands: Iterable[str], n: int = 3,
                 name: str | None = None) -> list[ItemCandidate]:
        """The brands' products a photo of an unnamed item most resembles, best first (brands
        without references are passed over). Brands under different models are searched
        with the photo as each model embeds it."""
        photo = self.read(source, name)
        views = {brand: self.brands.get(brand)[0] for brand in brands}
        by_model: dict[str, list[str]] = {}
        for brand, view in views.items():
            if len(view.index):
                by_model.setdefault(view.embedder.model_id, []).append(brand)
        found: list[ItemCandidate] = []
        for group in by_model.values():
            photo = self.read(photo, name, group[0])  # decoded again only if it is too small
            query, _ = self.embed(views[group[0]].embedder, photo)
            found += propose_items(query, {brand: views[brand].index for brand in group}, n)
        return sorted(found, key=lambda c: -c.similarity)[:n]

    def references(self, ref_ids: list[int]) -> dict[int, Reference]:
        """References by id (an empty request reads nothing)."""
        return {ref.id: ref for ref in self.store.references(ids=ref_ids)} if ref_ids else {}


def match(ref: Reference, similarity: float) -> Match:
    """A reference as a suggestion shows it, with its similarity to the photo."""
    return Match(ref.id, similarity, ref.product, ref.label, ref.source_name, ref.note,
                 str(ref.path), ref.origin)
