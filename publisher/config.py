"""The site configuration: ``site.yaml`` in the content folder, loaded and validated.

In: the path of ``site.yaml``. Out: a :class:`SiteConfig` or diagnostics (codes ``S1xx``) with
the line of every problem. Each output format validates its own options under ``formats:``.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from publisher.diagnostics import Diagnostics, SourceSpan, did_you_mean, display_path
from publisher.yamlsource import Located, parse_yaml, validate

CONFIG_NAME = "site.yaml"
CONFIG_CODES = {
    "missing": "S102", "unknown": "S103", "type": "S104", "date": "S105", "value": "S106"
}


class _Config(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Language(_Config):
    code: str = Field(pattern=r"^[a-z]{2,3}(-[A-Z]{2})?$")
    name: str = Field(min_length=1)
    direction: Literal["ltr", "rtl"] = "ltr"


class AccessibilityContact(_Config):
    email: str = Field(pattern=r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
    phone: str | None = None
    address: str | None = None
    url: str | None = None


class Enforcement(_Config):
    """The national body citizens can turn to (EU model accessibility statement)."""

    name: str
    url: str = Field(pattern=r"^https?://")


class SiteConfig(_Config):
    """What the organisation configures once for all its services."""

    organisation: dict[str, str] = Field(min_length=1)
    base_url: str = Field(pattern=r"^https?://[^\s/]+(/[^\s]*)?/$")
    default_language: str
    languages: tuple[Language, ...] = Field(min_length=1)
    accessibility_contact: AccessibilityContact
    topics: dict[str, dict[str, str]] = Field(min_length=1)
    formats: dict[str, dict[str, Any]] = Field(default_factory=dict)
    enforcement: Enforcement | None = None
    max_file_bytes: int = Field(default=1_000_000, gt=0)
    review_period_days: int = Field(default=365, gt=0)

    def language(self, code: str) -> Language:
        for language in self.languages:
            if language.code == code:
                return language
        raise KeyError(code)

    @property
    def language_codes(self) -> tuple[str, ...]:
        return tuple(language.code for language in self.languages)

    def localised(self, values: dict[str, str], lang: str) -> str:
        """A per-language value, falling back to the default language."""
        return values.get(lang) or values[self.default_language]

    def organisation_name(self, lang: str) -> str:
        return self.localised(self.organisation, lang)

    def topic_label(self, topic: str, lang: str) -> str:
        return self.localised(self.topics[topic], lang)

    def format_options(self, name: str) -> dict[str, Any]:
        return self.formats.get(name, {})


def load_config(
    path: Path,
    diagnostics: Diagnostics,
    known_formats: Mapping[str, type[BaseModel]] | None = None,
) -> SiteConfig | None:
    """Read and validate the site configuration; ``None`` when it has errors."""
    shown = display_path(path)
    if not path.is_file():
        diagnostics.error(
            "S100",
            f"there is no site configuration at {shown}",
            SourceSpan(shown),
            f"create {CONFIG_NAME} in the content folder (see the README), or pass --config",
        )
        return None
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        diagnostics.error(
            "S100", f"the site configuration is not UTF-8 text ({exc.reason})", SourceSpan(shown)
        )
        return None
    located = parse_yaml(text, SourceSpan(shown, 1), diagnostics, "S101")
    if located is None:
        return None
    config = validate(SiteConfig, located, diagnostics, CONFIG_CODES, "site configuration")
    if config is None:
        return None
    before = len(diagnostics.errors)
    _check_consistency(config, located, diagnostics, known_formats)
    return None if len(diagnostics.errors) > before else config


def _check_consistency(
    config: SiteConfig,
    located: Located,
    diagnostics: Diagnostics,
    known_formats: Mapping[str, type[BaseModel]] | None,
) -> None:
    codes = config.language_codes
    if config.default_language not in codes:
        diagnostics.error(
            "S106",
            f"the default language '{config.default_language}' is not in 'languages'",
            located.span(("default_language",)),
            did_you_mean(config.default_language, codes) or f"use one of: {', '.join(codes)}",
        )
        return
    seen: set[str] = set()
    for index, language in enumerate(config.languages):
        if language.code in seen:
            diagnostics.error(
                "S106",
                f"the language '{language.code}' is listed twice",
                located.span(("languages", index)),
                "remove one of them",
            )
        seen.add(language.code)
    per_language = [("organisation",), *(("topics", topic) for topic in config.topics)]
    for path in per_language:
        values = config.organisation if path == ("organisation",) else config.topics[str(path[1])]
        for lang in values:
            if lang not in codes:
                diagnostics.error(
                    "S106",
                    f"'{'.'.join(map(str, path))}' has a text for '{lang}', which is not a "
                    "configured language",
                    located.span((*path, lang)),
                    did_you_mean(lang, codes) or f"use one of: {', '.join(codes)}",
                )
        if config.default_language not in values:
            diagnostics.error(
                "S102",
                f"'{'.'.join(map(str, path))}' has no text in the default language "
                f"'{config.default_language}'",
                located.span(path),
                f"add '{config.default_language}: …'",
            )
    if known_formats is not None:
        for name in config.formats:
            if name not in known_formats:
                diagnostics.error(
                    "S103",
                    f"unknown output format '{name}' under 'formats'",
                    located.span(("formats", name)),
                    did_you_mean(name, known_formats)
                    or f"known formats: {', '.join(sorted(known_formats))}",
                )
                continue
            validate(
                known_formats[name],
                located.sub(("formats", name)),
                diagnostics,
                CONFIG_CODES,
                f"options of the '{name}' format",
            )
