"""The engine: a gallery joins a store, an embedder and the pure core (see :mod:`.gallery`)."""

from .actors import current_user, local_actor
from .gallery import Gallery, GallerySummary
from .migration import migrate

__all__ = ["Gallery", "GallerySummary", "current_user", "local_actor", "migrate"]
