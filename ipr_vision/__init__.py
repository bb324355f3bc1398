"""ipr-vision: suggestions, from a brand's own reference photos, on whether goods are genuine.

Five lines from photos to a suggestion::

    from ipr_vision import Gallery

    gallery = Gallery("galleries/nike")                    # a folder; created if absent
    gallery.import_folder("photos/", brand="nike")         # photos/<product>/<genuine|fake>/*.jpg
    suggestion = gallery.inspect("suspect.jpg", brand="nike")
    print(suggestion.verdict, suggestion.p_counterfeit, suggestion.nearest_fake[0].ref)

A suggestion is not a legal determination: the officer and the right holder decide.
``write_evidence_pack(suggestion, "suspect.jpg", "evidence/", officer="...")`` keeps a record of
an inspection (photos, JSON, PDF, sha256 of each file) that can be checked later.
"""

from .embedders import Embedder, default_embedder
from .errors import GalleryError, IprVisionError, PhotoError, WeightsMissingError
from .evidence import EvidenceFigure, EvidencePack, write_evidence_pack
from .gallery import Gallery
from .photo import load_image, read_photo
from .results import Evaluation, Explanation, ImportReport, Match, Suggestion
from .scoring import Policy

__version__ = "0.1.0"

__all__ = [
    "Embedder",
    "Evaluation",
    "EvidenceFigure",
    "EvidencePack",
    "Explanation",
    "Gallery",
    "GalleryError",
    "ImportReport",
    "IprVisionError",
    "Match",
    "PhotoError",
    "Policy",
    "Suggestion",
    "WeightsMissingError",
    "default_embedder",
    "load_image",
    "read_photo",
    "write_evidence_pack",
]
