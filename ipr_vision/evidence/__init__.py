"""Evidence packs: what one inspection showed, written so that it can be checked later without
ipr-vision (:mod:`.pack` writes and publishes the folder, :mod:`.pdf` lays out its report)."""

from .pack import EvidencePack, write_evidence_pack
from .pdf import DISCLAIMER_EN, DISCLAIMER_ZH

__all__ = ["DISCLAIMER_EN", "DISCLAIMER_ZH", "EvidencePack", "write_evidence_pack"]
