"""The engine: a gallery joins a store, an embedder and the pure core (see :mod:`.gallery`)."""

from .gallery import Gallery, GallerySummary
from .importer import current_user

__all__ = ["Gallery", "GallerySummary", "current_user"]
