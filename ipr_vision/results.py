"""Typed results returned by the public API and printed as JSON by the CLI."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

from PIL import Image

from .core.alignment import Alignment
from .core.heatmap import HeatMap
from .core.quality import QualityReport
from .core.scoring import Mode
from .domain import IdPoint, Label, PackageOrigin, Verdict


@dataclass(frozen=True)
class Match:
    """A reference photo close to the inspected photo."""

    ref: int
    similarity: float
    product: str
    label: Label
    source_name: str
    note: str
    path: str
    #: The signed package that brought the reference (None: added in this gallery).
    origin: PackageOrigin | None = None


@dataclass(frozen=True)
class Suggestion:
    """What ipr-vision suggests for one photo. It suggests; the officer and right holder decide.

    ``p_counterfeit`` is a probability fitted on the brand's known fakes when ``calibrated`` is
    true; for products with genuine references only it is the share of genuine references that
    look more genuine than this photo. It is ``None`` when no score could be given (see
    ``reason``). A photo that fails the ``quality`` gate is always inconclusive; its score is
    still given, for transparency.
    """

    photo: str
    photo_sha256: str
    brand: str
    product: str | None
    product_proposed: bool
    product_candidates: list[tuple[str, float]]
    verdict: Verdict
    p_counterfeit: float | None
    calibrated: bool
    reason: str
    score: float | None
    mode: Mode | None
    nearest_genuine: list[Match]
    nearest_fake: list[Match]
    operating_point: dict[str, float | None] | None
    model: str
    gallery_revision: int
    quality: QualityReport | None = None

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["quality"] = self.quality.to_dict() if self.quality else None
        data["product_candidates"] = [{"product": p, "similarity": round(s, 4)}
                                      for p, s in self.product_candidates]
        for key in ("nearest_genuine", "nearest_fake"):
            for match in data[key]:
                match["similarity"] = round(match["similarity"], 4)
        return data


@dataclass
class ImportReport:
    """Per-file outcome of an import: nothing is dropped without being listed here.

    A reason is its English text, which the CLI prints and :meth:`to_dict` carries; where a web
    user can meet it (an upload, an adoption) it is an :class:`~ipr_vision.errors.Worded`, whose
    key lets the page say it in the user's language.
    """

    added: list[tuple[str, int]] = field(default_factory=list)
    duplicates: list[tuple[str, int]] = field(default_factory=list)  # (file, existing ref id)
    failed: list[tuple[str, str]] = field(default_factory=list)  # (file, reason)
    seconds: float = 0.0
    #: Left out on purpose, not failed: hidden files, links to folders (file, reason).
    skipped: list[tuple[str, str]] = field(default_factory=list)
    #: Added although too poor to compare against, because the caller allowed it
    #: (file, reference id, what was wrong).
    waived: list[tuple[str, int, str]] = field(default_factory=list)

    def summary(self) -> str:
        rate = len(self.added) / self.seconds if self.seconds > 0 else 0.0
        skipped = f", skipped {len(self.skipped)}" if self.skipped else ""
        if self.waived:
            skipped += f", {len(self.waived)} added despite poor quality"
        return (f"added {len(self.added)}, duplicates {len(self.duplicates)}, "
                f"failed {len(self.failed)}{skipped} in {self.seconds:.1f} s "
                f"({rate:.1f} photos/s)")

    def to_dict(self) -> dict[str, Any]:
        return {"added": [{"file": f, "ref": r} for f, r in self.added],
                "duplicates": [{"file": f, "ref": r} for f, r in self.duplicates],
                "failed": [{"file": f, "reason": r} for f, r in self.failed],
                "seconds": round(self.seconds, 3),
                "skipped": [{"file": f, "reason": r} for f, r in self.skipped],
                "poor_quality_allowed": [{"file": f, "ref": r, "reason": why}
                                         for f, r, why in self.waived]}


@dataclass(frozen=True)
class Evaluation:
    """How suggestions on labelled photos compare with their labels."""

    photos: int
    genuine: int
    fake: int
    auroc: float
    ece: float  # expected calibration error of p_counterfeit (10 bins)
    accuracy: float  # share right among photos given a verdict
    fake_recall: float  # share of fakes called counterfeit
    genuine_flagged: float  # share of genuines called counterfeit
    fake_cleared: float  # share of fakes called genuine
    inconclusive: float  # share of photos with no verdict
    fake_recall_at_1pct: float  # fakes caught by score when at most 1 % of genuines are flagged
    fake_recall_at_5pct: float  # the same at 5 %
    failed: int  # photos that could not be read
    model: str
    per_product: dict[str, dict[str, float]] = field(default_factory=dict)
    #: Photo groups among the photos inspected (copies of one photo are one group).
    groups: int = 0
    #: 95 % intervals [low, high] of the overall figures over resampled photo groups (within
    #: product and label): how far another draw of such photos could move each one.
    ci95: dict[str, list[float]] = field(default_factory=dict)
    #: Reliability diagram points of the calibrated p_counterfeit values.
    reliability: list[dict[str, float]] = field(default_factory=list)
    #: Per inspected photo, in order: whether it is fake, and its p_counterfeit (None: no
    #: score); ROC curves and other figures are drawn from these.
    is_fake: list[bool] = field(default_factory=list, repr=False)
    p_counterfeit: list[float | None] = field(default_factory=list, repr=False)
    #: The raw score behind each p_counterfeit, which breaks its ties (isotonic steps, the
    #: clip at 0.01 / 0.99): figures pooled over several evaluations rank photos by both.
    score: list[float | None] = field(default_factory=list, repr=False)
    #: Each inspected photo's path as the index gave it, and the verdict it got: which photos
    #: were judged wrongly is what a right holder reviews after the figures.
    photo: list[str] = field(default_factory=list, repr=False)
    verdict: list[str] = field(default_factory=list, repr=False)

    def wrong(self) -> dict[str, list[str]]:
        """The photos whose verdict contradicts their label: genuine ones called counterfeit
        and fakes called genuine ("can't tell" is no error)."""
        pairs = list(zip(self.photo, self.is_fake, self.verdict, strict=True))
        return {"genuine_flagged": [p for p, fake, v in pairs
                                    if not fake and v == Verdict.COUNTERFEIT],
                "fake_cleared": [p for p, fake, v in pairs if fake and v == Verdict.GENUINE]}

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class PlacedPoint:
    """A right holder's identification point as found on the inspected photo."""

    point: IdPoint
    box: tuple[int, int, int, int] | None  # in the photo's pixels; None when not placed
    similarity: float | None  # photo region vs the genuine reference's region (cosine)
    heat: float | None  # mean heat of the region: 0 as genuine photos are, 1 beyond them
    reason: str = ""  # why it could not be placed


@dataclass(frozen=True)
class Explanation:
    """A suggestion with where the photo departs from the product's genuine references."""

    suggestion: Suggestion
    heat: HeatMap  # per-patch heat in [0, 1]; heat.novelty sums it up
    overlay: Image.Image  # the photo with the heat drawn over it
    genuine_references: int  # how many genuine references the patch memory holds
    #: The best alignment to one of the nearest genuine references (``alignment.reason`` says
    #: why none was trusted), the reference it used, and the pair side by side with differing
    #: regions boxed when it worked.
    alignment: Alignment | None = None
    aligned_ref: int | None = None
    aligned_view: Image.Image | None = None
    difference_boxes: list[tuple[int, int, int, int]] = field(default_factory=list)
    #: The aligned reference's identification points on the photo, and the photo with them drawn.
    points: list[PlacedPoint] = field(default_factory=list)
    points_view: Image.Image | None = None


@dataclass(frozen=True)
class PackageExport:
    """A signed brand package written to ``path``: where it stands in the brand's chain of
    packages and what it holds."""

    path: str
    brand: str
    sequence: int
    kind: str  # "full" or "delta"
    since: int | None
    hash: str  # sha256 of the signed manifest: what the receiving side records
    key: str  # fingerprint of the signing key
    references: int  # photos carried (added or changed)
    withdrawn: int
    embeddings: str | None  # the model id of the vectors carried, if any
    bytes: int
    seconds: float

    def to_dict(self) -> dict[str, Any]:
        return {**asdict(self), "seconds": round(self.seconds, 3)}


@dataclass(frozen=True)
class PackageImport:
    """What importing a package did: ``status`` is ``applied`` or ``already imported`` (a
    package applied before changes nothing)."""

    status: str
    brand: str
    sequence: int
    kind: str
    hash: str
    key: str
    signed_by: str
    signed_at: str
    added: list[int] = field(default_factory=list)  # new reference ids
    changed: list[int] = field(default_factory=list)  # notes or points replaced
    withdrawn: list[int] = field(default_factory=list)  # taken out of use
    #: Photos of the package this gallery already holds as its own references (kept as they are)
    kept_local: list[int] = field(default_factory=list)
    reembedded: bool = False  # the package's vectors were of another model (or absent)
    seconds: float = 0.0
    #: The package file's own sha256: what was handed over, byte for byte (audited)
    file_sha256: str = ""

    def summary(self) -> str:
        if self.status != "applied":
            return f"package {self.brand} #{self.sequence}: {self.status}, nothing changed"
        kept = f", {len(self.kept_local)} already held here" if self.kept_local else ""
        how = "re-embedded" if self.reembedded else "embeddings from the package"
        return (f"package {self.brand} #{self.sequence} ({self.kind}, key {self.key[:16]}…, "
                f"signed by {self.signed_by}): added {len(self.added)}, changed "
                f"{len(self.changed)}, withdrawn {len(self.withdrawn)}{kept}; {how}; "
                f"{self.seconds:.1f} s")

    def to_dict(self) -> dict[str, Any]:
        return {**asdict(self), "seconds": round(self.seconds, 3)}
