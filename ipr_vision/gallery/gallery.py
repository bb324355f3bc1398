"""The gallery as users see it: import photos, inspect a photo, explain, evaluate, curate.

A thin front. Each job lives in its own module of this package: :mod:`.importer`,
:mod:`.inspector`, :mod:`.explainer`, :mod:`.evaluator`, :mod:`.brands` (each brand's index
and calibration, kept current across processes), :mod:`.curation` (notes, points, removals and
purges) and :mod:`.model_choice` (each brand's model).
The store underneath is any :class:`~ipr_vision.storage.GalleryStore`; the math is the pure
core's.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from ..core.health import ProductHealth, product_health
from ..core.index import BrandIndex
from ..core.metrics import RESAMPLES
from ..core.scoring import Policy
from ..core.suggest import ItemCandidate
from ..core.workshop import confusable_pairs
from ..domain import (
    Actor,
    AuditAction,
    IdPoint,
    Reference,
    check_name,
    parse_label,
)
from ..embedders import Embedder, default_embedder
from ..errors import GalleryError, PhotoError
from ..intake.labelled import LabelledPhoto, named_group, read_index
from ..intake.photo import Photo
from ..results import (
    Evaluation,
    Explanation,
    ImportReport,
    Suggestion,
)
from ..storage import (
    AuditTrail,
    GalleryStore,
    open_audit_trail,
    open_gallery_store,
)
from ..storage.locations import shown
from .actors import acting
from .brands import BrandCache
from .change_trail import LostChange, append_receipted, audit_target, settle_changes
from .curation import Curation
from .evaluator import evaluate
from .exchange import PackageExchange
from .explainer import Explainer, patch_embedder
from .importer import Importer, Stored, scan_folder
from .inspector import Inspector
from .model_choice import ModelChoice
from .models import Models
from .package_import import PackageImporter


@dataclass(frozen=True)
class GallerySummary:
    """What a gallery holds: ``gallery info`` prints it."""

    path: Path
    #: brand -> product -> label -> count (brands and products without references included)
    brands: dict[str, dict[str, dict[str, int]]]
    revisions: dict[str, int]
    models: dict[str, int]  # model id -> embeddings stored
    bytes: int
    model: str  # the gallery's default model
    stale_embeddings: dict[str, int]  # brand -> references not embedded with the brand's model

    def to_dict(self) -> dict[str, Any]:
        return {"path": str(self.path), "brands": self.brands, "models": self.models,
                "bytes": self.bytes, "model": self.model,
                "stale_embeddings": self.stale_embeddings}


class Gallery(Curation, PackageExchange, ModelChoice):
    """A folder of reference photos for one or more brands, searchable by embedding.

    >>> gallery = Gallery("galleries/nike")                          # doctest: +SKIP
    >>> gallery.import_folder("photos/", brand="nike")               # doctest: +SKIP
    >>> gallery.inspect("suspect.jpg", brand="nike").verdict         # doctest: +SKIP
    'counterfeit'

    Every change is written to the gallery's audit trail (:attr:`audit`) under ``by``: the
    logged-in user the web app passes, else the OS user running this process.
    """

    def __init__(self, path: str | Path, *, embedder: Embedder | None = None,
                 policy: Policy | None = None, create: bool = True,
                 refresh_in_background: bool = False) -> None:
        """``refresh_in_background``: a server's choice, where officers must not wait on an
        import (:class:`~ipr_vision.gallery.brands.BrandCache`): a brand that changed answers
        from its previous state, recorded as such, while a thread recalibrates it."""
        self.store: GalleryStore = open_gallery_store(path, create=create)
        self.audit: AuditTrail = open_audit_trail(self.store.location)
        self._embedder = embedder
        self._embedder_lock = threading.Lock()
        self._brands = BrandCache(self.store, Models(lambda: self.embedder), policy or Policy(),
                                  refresh_in_background=refresh_in_background)
        self._importer = Importer(self.store, self._brands)
        self._inspector = Inspector(self.store, self._brands)
        self._explainer = Explainer(self.store, self._brands.embedder)
        self._packages = PackageImporter(self.store, self._brands)

    @property
    def path(self) -> Path:
        """The folder of the gallery's files (photos, evidence, downloads)."""
        return self.store.root

    @property
    def location(self) -> str | Path:
        """Where the gallery lives, as ``Gallery(location)`` opens it again: its folder, or
        its database URL (with the files folder) on PostgreSQL."""
        return self.store.location

    @property
    def shown_location(self) -> str:
        """:attr:`location` as messages and records may show it: without a password."""
        return shown(self.location)

    @property
    def policy(self) -> Policy:
        """The operating rules; a brand's own operating point overrides its share flagged."""
        return self._brands.policy

    @property
    def embedder(self) -> Embedder:
        """The default model (a brand may choose another: :meth:`model_for`), loaded on first
        use so listing a gallery never waits for it."""
        with self._embedder_lock:
            if self._embedder is None:
                self._embedder = default_embedder()
            return self._embedder

    def close(self) -> None:
        self._brands.close()
        self.store.close()
        self.audit.close()

    def __enter__(self) -> Gallery:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- reading --------------------------------------------------------------------------

    def brands(self) -> list[str]:
        return self.store.brands()

    def products(self, brand: str) -> list[str]:
        self.store.require_brand(brand)
        return self.store.products(brand)

    def references(self, brand: str | None = None, product: str | None = None, *,
                   ids: Iterable[int] | None = None) -> list[Reference]:
        return self.store.references(brand, product, None if ids is None else list(ids))

    def points(self, ref_ids: Iterable[int] | None = None, *,
               brand: str | None = None) -> list[IdPoint]:
        """Identification points, of some references or of a brand."""
        return self.store.points(None if ref_ids is None else list(ref_ids), brand)

    def stocked_brands(self) -> set[str]:
        """Brands that hold at least one reference."""
        return {brand for brand, _, _, count in self.store.counts() if count}

    def load_brands(self) -> list[str]:
        """Load and calibrate every brand now rather than at its first inspection (seconds on
        a large brand): a server does it in the background as it starts. Returns the brands;
        one deleted meanwhile is passed over, and a gallery closed meanwhile (a server stopping
        as it starts) ends the loading quietly."""
        loaded: list[str] = []
        try:
            for brand in self.brands():
                if self._brands.closing:
                    break
                try:
                    self._brands.get(brand)
                except GalleryError:
                    continue
                loaded.append(brand)
        except Exception:
            if not self._brands.closing:  # else the store closed under the load
                raise
        return loaded

    def holds_references(self, brand: str) -> bool:
        """Whether the brand has a reference to compare with (an unknown brand is an error),
        from its loaded index, which an inspection loads anyway: not a count over the store."""
        return len(self._brands.get(brand)[0].index) > 0

    def summary(self) -> GallerySummary:
        brands: dict[str, dict[str, dict[str, int]]] = {}
        for brand, product, label, count in self.store.counts():
            brands.setdefault(brand, {}).setdefault(product, {})[label] = count
        names = self.brands()
        for brand in names:
            brands.setdefault(brand, {})
        return GallerySummary(self.path, brands, {b: self.store.revision(b) for b in names},
                              self.store.model_ids(), self.store.disk_bytes(),
                              self.embedder.model_id, self.stale_embeddings())

    def confusable_pairs(self, brand: str, product: str,
                         n: int = 5) -> list[tuple[Reference, Reference, float]]:
        """The product's most alike (genuine, fake) reference pairs, for workshops."""
        view, _ = self._brands.get(brand)
        rows = view.index.products.get(product)
        if rows is None:
            raise GalleryError(f"brand {brand!r} has no product {product!r}",
                               key="error.no_product", brand=brand, product=product)
        pairs = confusable_pairs(rows, n)
        refs = self._inspector.references([i for g, f, _ in pairs for i in (g, f)])
        return [(refs[g], refs[f], s) for g, f, s in pairs if g in refs and f in refs]

    # -- curating -------------------------------------------------------------------------

    def add_brand(self, brand: str, *, by: Actor | None = None) -> None:
        """Create a brand with no products yet (importing photos creates brands as well)."""
        brand = check_name(brand, "brand")
        self.store.add_brand(brand, before_commit=lambda name: append_receipted(
            self.audit, acting(by), AuditAction.BRAND_ADD, brand=name))

    def remove_brand(self, brand: str, *, by: Actor | None = None, reason: str = "") -> int:
        """Withdraw a brand: its references are taken out of use as :meth:`remove` does
        (kept on record with their photo files, until an admin purges them), then the brand
        and its products are deleted; returns how many references were withdrawn. A brand
        that signed packages name is refused and keeps its references."""
        self.store.require_brand(brand)
        # Checked before anything changes: the references are withdrawn in a transaction of
        # their own, and a refusal after it would leave a brand emptied for nothing.
        if (self.store.trusted_keys(brand) or self.store.applied_packages(brand)
                or self.store.exported_packages(brand)):
            raise GalleryError(f"brand {brand!r} is named in signed-package records (keys or "
                               "packages), which must keep it", key="error.brand_in_packages",
                               brand=brand)
        actor = acting(by)
        ids = [ref.id for ref in self.store.references(brand)]
        withdrawn = self.remove(ids, by=actor, reason=reason) if ids else 0
        self.store.delete_brand(brand, before_commit=lambda name: append_receipted(
            self.audit, actor, AuditAction.BRAND_REMOVE, brand=name, withdrawn=withdrawn,
            reason=reason.strip()))
        self._brands.forget(brand)
        return withdrawn

    def add_product(self, brand: str, product: str, *, by: Actor | None = None) -> None:
        """Create a product of an existing brand, before any photo of it is added."""
        self.store.require_brand(brand)
        product = check_name(product, "product")
        if self.store.add_product(brand, product, before_commit=lambda name: append_receipted(
                self.audit, acting(by), AuditAction.PRODUCT_ADD, brand=brand, target=name)):
            self._brands.add_product(brand, product)

    def add_photos(self, photos: Iterable[str | Path], *, brand: str, product: str, label: str,
                   group: str | None = None, added_by: str | None = None,
                   by: Actor | None = None, allow_poor_quality: bool = False) -> ImportReport:
        """Add photos of one product and label (e.g. a right holder's upload); ``group`` names
        their photo group, as an index's ``dup_group`` does. Photos too small, blurred or dark
        to compare against are refused unless ``allow_poor_quality`` (recorded in the audit)."""
        kind = parse_label(label)
        product = check_name(product, "product")
        items = [LabelledPhoto(Path(p), product, kind, named_group(group)) for p in photos]
        return self._import(items, brand, acting(by, added_by), allow_poor_quality)

    def import_folder(self, folder: str | Path, *, brand: str, added_by: str | None = None,
                      by: Actor | None = None, allow_poor_quality: bool = False) -> ImportReport:
        """Import ``folder/<product>/<genuine|fake>/<photos>`` (nested folders allowed)."""
        items, report = scan_folder(Path(folder))
        return self._import(items, brand, acting(by, added_by), allow_poor_quality, report)

    def import_index(self, index_csv: str | Path, *, brand: str, added_by: str | None = None,
                     by: Actor | None = None, allow_poor_quality: bool = False) -> ImportReport:
        """Import the photos listed in a CSV with columns ``path,label,product[,dup_group]``."""
        items, failed = read_index(index_csv)
        return self._import(items, brand, acting(by, added_by), allow_poor_quality,
                            ImportReport(failed=failed))

    def _import(self, items: list[LabelledPhoto], brand: str, actor: Actor,
                allow_poor_quality: bool, report: ImportReport | None = None) -> ImportReport:
        brand = check_name(brand, "brand")
        # An aborted import's ids are free again (SQLite): its entry is settled before they are
        # given to other photos, so the trail never shows one id added twice unexplained.
        self.settle_interrupted_changes()
        self.add_brand(brand, by=actor)

        def audited(batch: list[Stored]) -> None:
            self.audit.append(
                actor, AuditAction.REFERENCES_ADD, brand=brand,
                target=audit_target(s.ref_id for s in batch),
                references=[[s.ref_id, s.reference.product, s.reference.label,
                             s.reference.sha256, s.reference.source_name] for s in batch],
                poor_quality_allowed=[[s.ref_id, s.poor_quality] for s in batch
                                      if s.poor_quality])

        return self._importer.run(items, brand, actor.name, allow_poor_quality, report,
                                  before_commit=audited)

    def settle_interrupted_changes(self) -> list[LostChange]:
        """Say in the audit trail which audited imports, removals and purges never committed
        (a process stopped between the entry and the commit); run before serving, before an
        import and when the trail is checked."""
        return settle_changes(self.store, self.audit)

    def policy_for(self, brand: str) -> Policy:
        """The gallery's policy with the brand's own operating point, when one is set."""
        return self._brands.policy_for(brand)

    def set_operating_point(self, brand: str, max_genuine_flagged: float, *,
                            by: Actor | None = None) -> dict[str, Any]:
        """Flag at most this share of the brand's genuine items; returns what that means on the
        brand's own references (per scoring mode: genuine flagged, expected fake catch rate)."""
        change = self.store.set_max_genuine_flagged(
            brand, max_genuine_flagged, before_commit=lambda done: append_receipted(
                self.audit, acting(by), AuditAction.OPERATING_POINT, brand=brand,
                max_genuine_flagged=max_genuine_flagged, previous=done.previous))
        self._brands.apply(change, _unchanged)
        return self.operating_point(brand)

    def operating_point(self, brand: str) -> dict[str, Any]:
        """The brand's operating point and, per scoring mode, what it does on the brand's own
        references left out in turn: the share of genuine flagged and of known fakes caught."""
        view, calibration = self._brands.get(brand)
        share = view.policy.max_genuine_flagged
        modes: dict[str, Any] = {}
        for mode, fitted in calibration.by_mode.items():
            if isinstance(fitted, str):
                modes[mode] = {"reason": fitted}
                continue
            point = fitted.operating_point(share).to_dict()
            del point["max_genuine_flagged"]  # the brand's, printed once above the modes
            modes[mode] = {**point, "method": fitted.method}
        return {"brand": brand, "max_genuine_flagged": share, "modes": modes,
                "skipped_training_photos": len(calibration.skipped),
                "trained_on_margin": (None if calibration.margin is None
                                      else calibration.margin.to_dict()),
                "warning": calibration.warning}

    # -- inspecting -----------------------------------------------------------------------

    def read(self, source: str | Path | bytes, name: str | None = None, *,
             brand: str | None = None) -> Photo:
        """A photo decoded at the size the brand's model (default: the default model) needs
        (a JPEG several times faster than whole), with its bytes as received;
        :class:`PhotoError` if it cannot be used."""
        return self._inspector.read(source, name, brand)

    def inspect(self, photo: str | Path | bytes | Photo, *, brand: str,
                product: str | None = None, name: str | None = None) -> Suggestion:
        """Suggest genuine / counterfeit / inconclusive for one photo of a brand's product."""
        return self._inspector.inspect(photo, brand, product, name)

    def identify(self, photo: str | Path | bytes | Photo, *, brands: Iterable[str] | None = None,
                 n: int = 3) -> list[ItemCandidate]:
        """What is this item? The products of ``brands`` (default: all) it most resembles."""
        return self._inspector.identify(photo, self.brands() if brands is None else brands, n)

    def inspect_many(self, photos: Iterable[str | Path], *, brand: str,
                     product: str | None = None) -> Iterator[Suggestion | PhotoError]:
        """Inspect photos one by one; a bad file yields its error and the rest go on."""
        for photo in photos:
            try:
                yield self.inspect(photo, brand=brand, product=product)
            except PhotoError as error:
                yield error

    def explain(self, photo: str | Path | bytes | Photo, *, brand: str,
                product: str | None = None, name: str | None = None) -> Explanation:
        """Inspect a photo and show where it departs from the product's genuine references."""
        self._brands.get(brand)  # a wrong brand fails before the photo is read
        patch_embedder(self.model_for(brand))  # as does a model without patch features
        photo = self._inspector.read(photo, name, brand)
        return self._explainer.explain(photo, self.inspect(photo, brand=brand, product=product))

    def health(self, brand: str, product: str) -> ProductHealth:
        """How well a product's references separate genuine from fake, each left out in turn
        and judged at the brand's operating point: what a right holder curates by."""
        view, brand_calibration = self._brands.get(brand)  # frozen: imports go on meanwhile
        rows = view.index.products.get(product)
        if rows is None:
            products = self.store.products(brand)
            known = ", ".join(products) or "none yet"
            raise GalleryError(f"brand {brand!r} has no product {product!r} "
                               f"(products: {known})", key="error.no_product_of",
                               brand=brand, product=product, known=products)
        mode = brand_calibration.modes[product]
        calibration = None if mode.mode is None else brand_calibration.by_mode[mode.mode]
        return product_health(rows, mode, calibration, view.policy,
                              brand_calibration.skipped, brand_calibration.trained_included,
                              brand_calibration.left_out.get(product),
                              brand_calibration.margin is not None)

    def trained_on_scores(self, brand: str
                          ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Left-out scores, labels and photo groups of the brand's references that its model
        was trained on: set against new photos' scores, they measure the model's
        :class:`~ipr_vision.core.scoring.TrainedOnMargin` (``training.evaluate --folds``)."""
        return self._brands.trained_on_scores(brand)

    def evaluate(self, index_csv: str | Path, *, brand: str,
                 resamples: int = RESAMPLES) -> Evaluation:
        """Inspect every photo listed in a CSV (with its product) and compare with its label;
        the figures get 95 % intervals over ``resamples`` draws of photo groups (0: none)."""
        items, failed = read_index(index_csv)
        return evaluate(items, failed, lambda item: self.inspect(
            item.source, brand=brand, product=item.product), self.model_for(brand).model_id,
            resamples)


def _unchanged(index: BrandIndex) -> None:
    """A change that leaves the references alone (a setting): only recalibration is due."""
