"""The requirements that findings are mapped to, with the names auditors know them by.

WCAG 2.2 success criteria (id → understanding-document slug and level, as the W3C publishes
them: https://www.w3.org/TR/WCAG22/), EN 301 549 V3.2.1 chapter titles, and the two
organisational references the reports cite: CAF 2020 criterion 5.2 (e, f) and ISO 11367
principles 5.2.3 and 5.2.4.
"""

from __future__ import annotations

WCAG22: dict[str, tuple[str, str]] = {
    "1.1.1": ("non-text-content", "A"),
    "1.2.1": ("audio-only-and-video-only-prerecorded", "A"),
    "1.2.2": ("captions-prerecorded", "A"),
    "1.2.3": ("audio-description-or-media-alternative-prerecorded", "A"),
    "1.2.4": ("captions-live", "AA"),
    "1.2.5": ("audio-description-prerecorded", "AA"),
    "1.3.1": ("info-and-relationships", "A"),
    "1.3.2": ("meaningful-sequence", "A"),
    "1.3.3": ("sensory-characteristics", "A"),
    "1.3.4": ("orientation", "AA"),
    "1.3.5": ("identify-input-purpose", "AA"),
    "1.4.1": ("use-of-color", "A"),
    "1.4.2": ("audio-control", "A"),
    "1.4.3": ("contrast-minimum", "AA"),
    "1.4.4": ("resize-text", "AA"),
    "1.4.5": ("images-of-text", "AA"),
    "1.4.10": ("reflow", "AA"),
    "1.4.11": ("non-text-contrast", "AA"),
    "1.4.12": ("text-spacing", "AA"),
    "1.4.13": ("content-on-hover-or-focus", "AA"),
    "2.1.1": ("keyboard", "A"),
    "2.1.2": ("no-keyboard-trap", "A"),
    "2.1.4": ("character-key-shortcuts", "A"),
    "2.2.1": ("timing-adjustable", "A"),
    "2.2.2": ("pause-stop-hide", "A"),
    "2.3.1": ("three-flashes-or-below-threshold", "A"),
    "2.4.1": ("bypass-blocks", "A"),
    "2.4.2": ("page-titled", "A"),
    "2.4.3": ("focus-order", "A"),
    "2.4.4": ("link-purpose-in-context", "A"),
    "2.4.5": ("multiple-ways", "AA"),
    "2.4.6": ("headings-and-labels", "AA"),
    "2.4.7": ("focus-visible", "AA"),
    "2.4.11": ("focus-not-obscured-minimum", "AA"),
    "2.5.1": ("pointer-gestures", "A"),
    "2.5.2": ("pointer-cancellation", "A"),
    "2.5.3": ("label-in-name", "A"),
    "2.5.4": ("motion-actuation", "A"),
    "2.5.7": ("dragging-movements", "AA"),
    "2.5.8": ("target-size-minimum", "AA"),
    "3.1.1": ("language-of-page", "A"),
    "3.1.2": ("language-of-parts", "AA"),
    "3.2.1": ("on-focus", "A"),
    "3.2.2": ("on-input", "A"),
    "3.2.3": ("consistent-navigation", "AA"),
    "3.2.4": ("consistent-identification", "AA"),
    "3.2.6": ("consistent-help", "A"),
    "3.3.1": ("error-identification", "A"),
    "3.3.2": ("labels-or-instructions", "A"),
    "3.3.3": ("error-suggestion", "AA"),
    "3.3.4": ("error-prevention-legal-financial-data", "AA"),
    "3.3.7": ("redundant-entry", "A"),
    "3.3.8": ("accessible-authentication-minimum", "AA"),
    "4.1.2": ("name-role-value", "A"),
    "4.1.3": ("status-messages", "AA"),
}

EN301549_CHAPTERS = {
    "5": "Generic requirements",
    "7": "ICT with video capabilities",
    "9": "Web",
    "10": "Non-web documents",
    "11": "Software",
    "12": "Documentation and support services",
}

CAF = {
    "5.2.e": "CAF 2020 5.2 (e): promote the accessibility of the organisation and its services",
    "5.2.f": "CAF 2020 5.2 (f): provide information in a variety of formats — paper and "
    "electronic, appropriate languages, posters, brochures, Braille, audio notice boards",
}

ISO11367 = {
    "5.2.3": "ISO 11367 5.2.3: clear and timely communication through multiple channels",
    "5.2.4": "ISO 11367 5.2.4: accessibility",
}


def wcag_label(sc: str) -> str:
    slug, level = WCAG22.get(sc, ("", ""))
    name = slug.replace("-", " ").capitalize() if slug else ""
    return f"{sc} {name} ({level})" if slug else sc


def wcag_url(sc: str) -> str:
    slug = WCAG22.get(sc, ("", ""))[0]
    return f"https://www.w3.org/WAI/WCAG22/Understanding/{slug}" if slug else ""
