"""What the web app (and its API) can do, each operation checked against the user's role.

The one place where permissions are enforced: the Gradio handlers pass the logged-in user name
and never touch the gallery, the user store or the inspection log directly. A right holder who
calls an endpoint by hand for another brand gets :class:`PermissionDenied`, exactly as the page
would refuse it.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import tempfile
import zipfile
from collections.abc import Callable, Collection, Iterable, Sequence
from pathlib import Path

from PIL import Image

from ..core.health import ProductHealth
from ..core.item import item_verdict
from ..core.roles import (
    can_inspect,
    can_manage,
    can_manage_users,
    can_record_outcome,
    can_run_workshop,
    inspection_scope,
    sees_brand,
    sees_inspection,
    visible_brands,
)
from ..core.suggest import ItemCandidate
from ..core.workshop import QuizResult, draw_quiz, grade
from ..domain import (
    Actor,
    AuditAction,
    IdPoint,
    Inspection,
    Outcome,
    Reference,
    RemovedReference,
    User,
    Verdict,
    parse,
)
from ..embedders import Embedder
from ..errors import GalleryError, IprVisionError, PermissionDenied, PhotoError
from ..evidence import write_evidence_pack
from ..figures import explanation_figures
from ..gallery import Gallery
from ..gallery.change_trail import LostChange
from ..intake.photo import Photo, read_photo
from ..intake.uploads import expand_uploads
from ..results import Explanation, ImportReport, Suggestion
from ..storage import AuditTrail, InspectionLog, open_inspection_log
from .accounts import Accounts
from .actors import web_actor
from .admin_service import AdminOperations
from .adoption_service import AdoptionOperations
from .inspected import InspectionOutcome, logged
from .models_service import ModelOperations
from .packages_service import PackageOperations
from .record_trail import Unsettled, settle_writes

#: Called with (photos done, photos in all) while a batch is inspected.
Progress = Callable[[int, int], None]


class Service(AdminOperations, PackageOperations, AdoptionOperations, ModelOperations):
    """A gallery folder served to logged-in users: the gallery, its users, its inspection log.

    Users and the audit trail (:class:`.admin_service.AdminOperations`) are an admin's job.
    Evidence packs are kept under ``GALLERY/evidence/<officer>/`` as well as offered for
    download, so every pack handed out can be found again. Every change, login and evidence
    pack is written to the gallery's audit trail under the user who made it. Signed brand
    packages (:class:`.packages_service.PackageOperations`) are signed with ``signing_keys``;
    per-brand models are :class:`.models_service.ModelOperations`.
    """

    def __init__(self, gallery: Gallery, users: Accounts | None = None,
                 log: InspectionLog | None = None, signing_keys: Path | None = None) -> None:
        self.gallery = gallery
        self.users = users or Accounts.open(gallery.location)
        self.log = log or open_inspection_log(gallery.location)
        self.signing_keys = signing_keys

    @classmethod
    def open(cls, path: str | Path, *, create: bool = True, signing_keys: Path | None = None,
             embedder: Embedder | None = None, refresh_in_background: bool = False) -> Service:
        """``refresh_in_background``: the web server's, so officers do not wait on imports
        (:class:`~ipr_vision.gallery.Gallery`)."""
        return cls(Gallery(path, create=create, embedder=embedder,
                           refresh_in_background=refresh_in_background),
                   signing_keys=signing_keys)

    @property
    def location(self) -> Path:
        """The folder of the gallery's files (for messages, and the web app's uploads)."""
        return self.gallery.path

    def has_users(self) -> bool:
        """Whether anybody could log in."""
        return bool(self.users.users())

    def settle_interrupted_writes(self) -> list[Unsettled | LostChange]:
        """Say in the audit trail which audited inspection writes and imports never committed
        (a process stopped between the two); run before serving and when the trail is
        checked."""
        return settle_writes(self.log, self.gallery)

    def close(self) -> None:
        self.gallery.close()
        self.users.close()
        self.log.close()

    # -- who ------------------------------------------------------------------------------

    def login(self, name: str, password: str, client: str = "") -> bool:
        """Whether the password is right; ``client`` says where the attempt came from (the
        web app passes the client address). Both outcomes are audited."""
        user = self.users.verify(name, password)
        self.audit.append(Actor(name[:64], user.role if user else "", "web", client),
                          AuditAction.LOGIN if user else AuditAction.LOGIN_FAILED)
        return user is not None

    def login_refused(self, name: str, client: str, reason: str, refused: int) -> None:
        """Audit attempts the web app refused without checking the password (throttled, or
        too many waiting): ``refused`` of them from ``client`` since its last such entry."""
        self.audit.append(Actor(name[:64], "", "web", client), AuditAction.LOGIN_REFUSED,
                          reason=reason, refused=refused)

    @property
    def audit(self) -> AuditTrail:
        return self.gallery.audit

    def user(self, name: str | None) -> User:
        """The user behind a request; one removed since they logged in has no access left."""
        user = self.users.get(name) if name else None
        if user is None:
            raise PermissionDenied("please log in again", key="error.log_in_again")
        return user

    def brands(self, user: User) -> list[str]:
        return visible_brands(user, self.gallery.brands())

    def stocked_brands(self, user: User) -> list[str]:
        """The brands this user may see that hold references, in order."""
        stocked = self.gallery.stocked_brands()
        return [brand for brand in self.brands(user) if brand in stocked]

    def products(self, user: User, brand: str) -> list[str]:
        self._see(user, brand)
        return self.gallery.products(brand)

    # -- inspecting -----------------------------------------------------------------------

    def inspect(self, user: User, brand: str, product: str | None,
                sources: Sequence[Path], progress: Progress | None = None, *,
                inspection_id: str | None = None, actor: Actor | None = None
                ) -> InspectionOutcome:
        """Inspect photos of one item of one brand (a failing file is reported, the rest go
        on) and record them: as a new inspection, or with ``inspection_id`` as more views of
        that one. A photo the inspection already holds is not inspected or recorded again,
        so a second click on Inspect adds nothing. ``actor`` is who the audit trail names
        (default: ``user`` in the web app)."""
        self._inspector(user, brand)
        if not sources:
            raise IprVisionError("no photos to inspect", key="error.no_photos")
        if not self.gallery.holds_references(brand):  # an unknown brand is named as such
            # Refused before anything is recorded: an inspection with nothing to compare
            # against would stand in the log as if it had been judged.
            raise GalleryError(f"brand {brand} has no reference photos yet, so a photo cannot "
                               "be compared with anything; nothing was recorded",
                               key="error.brand_empty", brand=brand)
        current = None if inspection_id is None else self._own(user, inspection_id, brand)
        seen = {p.sha256 or p.name for p in current.photos} if current else set()
        results: list[tuple[Photo, Suggestion] | tuple[str, IprVisionError]] = []
        for done, source in enumerate(sources):
            try:
                photo = self.gallery.read(source, name=source.name)
                if photo.sha256 not in seen:
                    seen.add(photo.sha256)
                    results.append((photo, self.gallery.inspect(photo, brand=brand,
                                                                product=product)))
            except PhotoError as error:
                if source.name not in seen:
                    seen.add(source.name)
                    results.append((source.name, error))
            if progress is not None:
                progress(done + 1, len(sources))
        if current is not None and not results:
            return InspectionOutcome(current, [])
        recorded = [logged(*r) for r in results]

        def audited(inspection_id: str) -> None:  # inside the log's write: see record_trail
            self.audit.append(
                actor or web_actor(user), AuditAction.INSPECTION, brand=brand,
                target=inspection_id, added_to_earlier=current is not None, product=product,
                photos=[[p.name, p.sha256, p.verdict, p.p_counterfeit, p.error]
                        for p in recorded])

        inspection = (
            self.log.add_photos(current.id, recorded, before_commit=audited)
            if current is not None
            else self.log.record(user.name, brand, product, recorded, before_commit=audited))
        return InspectionOutcome(inspection, results)

    def _own(self, user: User, inspection_id: str, brand: str) -> Inspection:
        """An inspection this user recorded of this brand, to add photos to."""
        inspection = self.inspection(user, inspection_id)
        if inspection.officer != user.name or inspection.brand != brand:
            raise IprVisionError(f"inspection {inspection_id} is of {inspection.brand} by "
                                 f"{inspection.officer}: start a new inspection",
                                 key="error.not_your_inspection", id=inspection_id,
                                 brand=inspection.brand, officer=inspection.officer)
        return inspection

    @staticmethod
    def item_verdict(inspection: Inspection) -> Verdict | None:
        """The inspected item's suggestion from its readable photos' (None when no photo
        could be read): see :func:`~ipr_vision.core.item.item_verdict` for the rule."""
        verdicts = [p.verdict for p in inspection.photos if p.verdict is not None]
        return item_verdict(verdicts) if verdicts else None

    def explain(self, user: User, photo: Photo, suggestion: Suggestion) -> Explanation:
        """Where an inspected photo departs from the product's genuine references."""
        self._inspector(user, suggestion.brand)
        return self.gallery.explain(photo, brand=suggestion.brand, product=suggestion.product)

    def evidence_pack(self, user: User, inspection_id: str, photo: Photo,
                      suggestion: Suggestion, explanation: Explanation | None,
                      download_dir: Path) -> Path:
        """Write the evidence pack of one photo of an inspection under the gallery, and return
        a zip of it written into ``download_dir``."""
        self._inspector(user, suggestion.brand)
        inspection = self._own(user, inspection_id, suggestion.brand)
        if photo.sha256 not in {p.sha256 for p in inspection.photos}:
            raise IprVisionError(f"{photo.name} is not a photo of inspection {inspection_id}",
                                 key="error.not_of_inspection", photo=photo.name,
                                 id=inspection_id)
        figures = explanation_figures(explanation) if explanation is not None else []
        pack = write_evidence_pack(suggestion, photo.data, self.gallery.path / "evidence" /
                                   user.name, officer=user.name, extra_figures=figures,
                                   inspection=inspection_id)
        download_dir.mkdir(parents=True, exist_ok=True)
        archive = download_dir / f"evidence-{pack.folder.name}.zip"
        with zipfile.ZipFile(archive, "w", zipfile.ZIP_DEFLATED) as out:
            for file in sorted(pack.folder.rglob("*")):
                if file.is_file():
                    out.write(file, f"{pack.folder.name}/{file.relative_to(pack.folder)}")
        self.audit.append(web_actor(user), AuditAction.EVIDENCE_PACK, brand=suggestion.brand,
                          target=inspection_id, pack=pack.folder.name, photo=photo.sha256,
                          manifest_sha256=hashlib.sha256(pack.manifest.read_bytes()).hexdigest())
        return archive

    def identify(self, user: User, source: Path) -> list[ItemCandidate]:
        """What is this item? The products it most resembles (top 3) among the stocked brands
        this user may inspect: for goods whose brand nobody named."""
        brands = sorted(b for b in self.gallery.stocked_brands() if can_inspect(user, b))
        if not brands:
            raise GalleryError("no brand you may inspect has reference photos yet",
                               key="error.no_brand_to_identify")
        return self.gallery.identify(self.gallery.read(source, name=source.name), brands=brands)

    def inspections(self, user: User, limit: int = 200) -> list[Inspection]:
        """The inspections this user may see, newest first."""
        scope = inspection_scope(user)
        if scope is None:
            return []
        officer, brands = scope
        return self.log.inspections(officer=officer, brands=brands, limit=limit)

    def set_outcome(self, user: User, inspection_id: str, outcome: str,
                    note: str = "") -> Inspection:
        """Add an outcome to the inspection's history (the officer's decision and the right
        holder's confirmation are separate entries; nothing earlier is overwritten)."""
        chosen = parse(Outcome, outcome, "outcome")
        inspection = self.log.get(inspection_id)
        if not can_record_outcome(user, chosen, inspection.officer, inspection.brand):
            raise PermissionDenied(f"{user.name} may not record {outcome!r} for inspection "
                                   f"{inspection_id}", key="error.may_not_record",
                                   user=user.name, outcome=outcome, id=inspection_id)
        return self.log.add_outcome(
            inspection_id, chosen, user.name, user.role, note,
            before_commit=lambda target: self.audit.append(
                web_actor(user), AuditAction.OUTCOME, brand=inspection.brand, target=target,
                outcome=chosen, note=note.strip()))

    def inspection(self, user: User, inspection_id: str) -> Inspection:
        inspection = self.log.get(inspection_id)
        if not sees_inspection(user, inspection.officer, inspection.brand):
            raise PermissionDenied(f"{user.name} may not see inspection {inspection_id}",
                                   key="error.may_not_see_inspection", user=user.name,
                                   id=inspection_id)
        return inspection

    # -- curating (right holders) ---------------------------------------------------------

    def add_brand(self, user: User, brand: str) -> None:
        if not can_manage_users(user):
            raise PermissionDenied("only an admin creates brands", key="error.admin_brands")
        self.gallery.add_brand(brand, by=web_actor(user))

    def add_product(self, user: User, brand: str, product: str) -> None:
        self._manage(user, brand)
        self.gallery.add_product(brand, product, by=web_actor(user))

    def upload(self, user: User, brand: str, product: str, label: str,
               files: Sequence[Path], *, allow_poor_quality: bool = False) -> ImportReport:
        """Add photos and zip files of photos of one product and label; every file that is
        not added (duplicate, unreadable, not a photo, too poor to compare against unless
        allowed) is listed with its reason."""
        self._manage(user, brand)
        if product not in self.gallery.products(brand):
            raise GalleryError(f"brand {brand!r} has no product {product!r}; create it first",
                               key="error.create_product_first", brand=brand, product=product)
        # Named after this process, so crash recovery knows when the folder is abandoned.
        staging = Path(tempfile.mkdtemp(prefix=f"{os.getpid()}.upload-",
                                        dir=self.gallery.path / "tmp"))
        try:
            unpacked = expand_uploads(files, staging)
            paths = [path for path, _ in unpacked.photos]
            report = (self.gallery.add_photos(paths, brand=brand, product=product, label=label,
                                              by=web_actor(user),
                                              allow_poor_quality=allow_poor_quality)
                      if paths else ImportReport())
            shown = {str(path): name for path, name in unpacked.photos}
            report.added = [(shown.get(f, f), r) for f, r in report.added]
            report.duplicates = [(shown.get(f, f), r) for f, r in report.duplicates]
            report.failed = unpacked.failed + [(shown.get(f, f), r) for f, r in report.failed]
            report.waived = [(shown.get(f, f), i, r) for f, i, r in report.waived]
            report.skipped += unpacked.skipped
            return report
        finally:
            shutil.rmtree(staging, ignore_errors=True)

    def references(self, user: User, brand: str, product: str | None = None) -> list[Reference]:
        self._see(user, brand)
        return self.gallery.references(brand, product)

    def reference(self, user: User, ref_id: int) -> Reference:
        found = self.gallery.references(ids=[ref_id])
        if not found or not sees_brand(user, found[0].brand):
            raise PermissionDenied(f"no reference #{ref_id} that {user.name} may see",
                                   key="error.reference_unseen", ref=ref_id, user=user.name)
        return found[0]

    def remove(self, user: User, ref_ids: Iterable[int], reason: str = "") -> int:
        """Take references out of use (kept, with who, when and why, until an admin purges
        them)."""
        refs = self.gallery.references(ids=list(ref_ids))
        for ref in refs:
            self._manage(user, ref.brand)
        return self.gallery.remove([ref.id for ref in refs], by=web_actor(user), reason=reason)

    def removed(self, user: User, brand: str) -> list[RemovedReference]:
        self._manage(user, brand)
        return self.gallery.removed(brand)

    def purge(self, user: User, ref_ids: Iterable[int]) -> int:
        """Delete removed references' photo files for good (admins only)."""
        self._admin(user)
        return self.gallery.purge(ref_ids, by=web_actor(user))

    def set_note(self, user: User, ref_id: int, note: str) -> None:
        self._manage(user, self.reference(user, ref_id).brand)
        self.gallery.set_note(ref_id, note, by=web_actor(user))

    def add_point(self, user: User, ref_id: int, box: tuple[int, int, int, int],
                  note: str) -> int:
        self._manage(user, self.reference(user, ref_id).brand)
        return self.gallery.add_point(ref_id, box, note, by=web_actor(user))

    def points(self, user: User, ref_id: int) -> list[IdPoint]:
        self.reference(user, ref_id)
        return self.gallery.points([ref_id])

    def remove_point(self, user: User, ref_id: int, point_id: int) -> bool:
        self._manage(user, self.reference(user, ref_id).brand)
        if point_id not in {p.id for p in self.gallery.points([ref_id])}:
            return False
        return self.gallery.remove_point(point_id, by=web_actor(user))

    def health(self, user: User, brand: str, product: str) -> ProductHealth:
        self._see(user, brand)
        return self.gallery.health(brand, product)

    def set_operating_point(self, user: User, brand: str, max_genuine_flagged: float) -> None:
        self._manage(user, brand)
        self.gallery.set_operating_point(brand, max_genuine_flagged, by=web_actor(user))

    def photo(self, user: User, ref_id: int) -> Image.Image:
        """A reference photo, upright, for showing (access checked like its brand)."""
        return read_photo(self.reference(user, ref_id).path).image

    # -- workshop (trainers) --------------------------------------------------------------

    def quiz(self, user: User, brand: str, product: str | None, size: int, seed: int,
             exclude: Collection[int] = ()) -> list[Reference]:
        """A quiz drawn from the product's references, leaving out ``exclude`` (photos whose
        labels the trainee has already been shown)."""
        self._workshop(user, brand)
        return draw_quiz([r for r in self.gallery.references(brand, product)
                          if r.id not in exclude], size, seed)

    def grade_quiz(self, user: User, ref_ids: Sequence[int],
                   answers: Sequence[str | None]) -> QuizResult:
        refs = {r.id: r for r in self.gallery.references(ids=list(ref_ids))}
        items = [refs[i] for i in ref_ids if i in refs]
        for ref in items:
            self._workshop(user, ref.brand)
        if len(items) != len(ref_ids):
            raise IprVisionError("some quiz photos were removed from the gallery meanwhile",
                                 key="error.quiz_photos_gone")
        return grade(items, answers)

    def confusable_pairs(self, user: User, brand: str, product: str,
                         n: int = 5) -> list[tuple[Reference, Reference, float]]:
        self._workshop(user, brand)
        return self.gallery.confusable_pairs(brand, product, n)

    # -- checks ---------------------------------------------------------------------------

    def _see(self, user: User, brand: str) -> None:
        if not sees_brand(user, brand):
            raise PermissionDenied(f"{user.name} has no access to brand {brand!r}",
                                   key="error.no_access", user=user.name, brand=brand)

    def _inspector(self, user: User, brand: str) -> None:
        if not can_inspect(user, brand):
            raise PermissionDenied(f"{user.name} may not inspect {brand!r}",
                                   key="error.may_not_inspect", user=user.name, brand=brand)

    def _manage(self, user: User, brand: str) -> None:
        if not can_manage(user, brand):
            raise PermissionDenied(f"{user.name} may not change brand {brand!r}",
                                   key="error.may_not_change", user=user.name, brand=brand)

    def _workshop(self, user: User, brand: str) -> None:
        if not can_run_workshop(user, brand):
            raise PermissionDenied(f"{user.name} may not run a workshop on brand {brand!r}",
                                   key="error.may_not_workshop", user=user.name, brand=brand)

