"""The crisis detector engine and its per-language data: finds urgent signals in comments."""

from comments_service.verbs.crisis.detector import (
    CATEGORY_LABELS,
    Detection,
    Detector,
    Match,
    default_detector,
    detect,
)
from comments_service.verbs.crisis.languages import CATEGORIES, LanguageFileError, available

__all__ = [
    "CATEGORIES",
    "CATEGORY_LABELS",
    "Detection",
    "Detector",
    "LanguageFileError",
    "Match",
    "available",
    "default_detector",
    "detect",
]
