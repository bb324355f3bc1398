"""One call's inspection as the service hands it back: the record, with the photos and
suggestions still in memory. Kept apart from :mod:`.service`, which would pass 450 lines."""

from __future__ import annotations

from dataclasses import dataclass

from ..domain import Inspection
from ..errors import IprVisionError
from ..intake.photo import Photo
from ..results import Suggestion
from ..storage import NewInspectedPhoto


@dataclass(frozen=True)
class InspectionOutcome:
    """An inspection as recorded, with the live results of the photos inspected by this call
    (the photos and suggestions in memory, for showing them and for evidence packs); empty
    when every photo given was already part of the inspection."""

    inspection: Inspection
    results: list[tuple[Photo, Suggestion] | tuple[str, IprVisionError]]

    def inspected(self, index: int) -> tuple[Photo, Suggestion] | str:
        """A photo of the inspection with its suggestion, or why it could not be inspected."""
        judged = self.judged(index)
        return str(judged) if isinstance(judged, IprVisionError) else judged

    def judged(self, index: int) -> tuple[Photo, Suggestion] | IprVisionError:
        """:meth:`inspected`, with the error itself in place of its message, so the web app
        can say it in the user's language."""
        photo, result = self.results[index]
        if isinstance(result, IprVisionError):
            return result
        assert isinstance(photo, Photo)
        return photo, result


def logged(photo: Photo | str, result: Suggestion | IprVisionError) -> NewInspectedPhoto:
    """One photo of an inspection as the log keeps it."""
    if isinstance(photo, Photo) and isinstance(result, Suggestion):
        return NewInspectedPhoto(photo.name, photo.sha256, photo.extension, photo.data,
                                 result.verdict, result.p_counterfeit, result.product,
                                 result.to_dict())
    return NewInspectedPhoto(str(photo), error=str(result))
