"""Images made for people: a product's health plots, ROC curves, and the captioned figures of
where a photo differs, in English and Simplified Chinese (Chinese needs the ``zh-pdf`` font)."""

from .explained import EvidenceFigure, explanation_figures

__all__ = ["EvidenceFigure", "explanation_figures"]
