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

from ._version import __version__
from .core.scoring import Policy
from .domain import Label, Verdict
from .embedders import Embedder, default_embedder
from .errors import GalleryError, IprVisionError, PhotoError, WeightsMissingError
from .evidence import EvidencePack, write_evidence_pack
from .figures import EvidenceFigure
from .gallery import Gallery
from .intake.photo import load_image, read_photo
from .results import Evaluation, Explanation, ImportReport, Match, Suggestion

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
    "Label",
    "Match",
    "PhotoError",
    "Policy",
    "Suggestion",
    "Verdict",
    "WeightsMissingError",
    "__version__",
    "default_embedder",
    "load_image",
    "read_photo",
    "write_evidence_pack",
]
