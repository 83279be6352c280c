"""The site configuration: ``site.yaml`` in the content folder, loaded and validated.

In: the path of ``site.yaml``. Out: a :class:`SiteConfig` or diagnostics (codes ``S1xx``) with
the line of every problem. Each output format validates its own options under ``formats:``.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Annotated, Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field

from publisher.diagnostics import Diagnostics, SourceSpan, did_you_mean, display_path
from publisher.yamlsource import Located, parse_yaml, validate

#: Limits that keep one hostile or broken file from exhausting the build machine; each can be
#: raised in site.yaml. Markdown parsing costs up to about 50 µs per byte on pathological input
#: (measured by benchmarks/bench_hostile.py), so the size limit bounds the time a file can take.
DEFAULT_MAX_FILE_BYTES = 250_000
DEFAULT_MAX_LINE_CHARS = 10_000
DEFAULT_MAX_TABLE_COLUMNS = 20
#: front matter and site.yaml are shallow records; deeper YAML is a mistake or an attack, and
#: PyYAML's loader recurses once per level
MAX_YAML_DEPTH = 20

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
    url: str | None = Field(default=None, pattern=r"^https?://[^\s/]+")


class Enforcement(_Config):
    """The national body citizens can turn to (EU model accessibility statement)."""

    name: str
    url: str = Field(pattern=r"^https?://")


class PlainLanguage(_Config):
    """Targets of the plain-language checks (``plain_language:`` in site.yaml)."""

    #: Flesch reading ease a service text should reach (0–100, higher is easier; 60 and more is
    #: plain language; French uses the Kandel–Moles variant on the same scale)
    target_reading_ease: float = Field(default=60, ge=0, le=100)
    #: sentences longer than this many words are listed for the author
    max_sentence_words: int = Field(default=25, gt=0)


#: a service id (the same pattern as the front matter's ``id``)
_SERVICE_ID = r"^[a-z0-9][a-z0-9-]*$"


class LinkSettings(_Config):
    """How root-relative links (``/find-a-court``) resolve (``links:`` in site.yaml).

    Pages exported from a CMS link to the rest of the organisation's web estate by root-relative
    paths. With ``root``, such a link leads to that address, unless it names a service of the
    catalogue — by its page path (``/en/parking-permit/``) or by one of ``old_addresses`` (the
    path the page had on the old site → the service id) —, in which case it is the internal link
    to that service, in every format.
    """

    root: str = Field(pattern=r"^https?://[^\s/]+(/[^\s]*)?/$")
    old_addresses: dict[
        Annotated[str, Field(pattern=r"^/[^\s#?]*$")],
        Annotated[str, Field(pattern=_SERVICE_ID)],
    ] = Field(default_factory=dict)

    def service_for(self, path: str) -> str | None:
        """The service an old address names (a trailing ``/`` does not matter), or ``None``."""
        wanted = path.rstrip("/") or "/"
        for old, service in self.old_addresses.items():
            if (old.rstrip("/") or "/") == wanted:
                return service
        return None


FailOnLevel = Literal["critical", "serious", "moderate", "minor", "none"]


class FailOn(_Config):
    """The audit gate per rulebook (``fail_on:`` in site.yaml): a build is not published when a
    failed finding of that rulebook has this impact or worse; ``none`` never stops it."""

    wcag: FailOnLevel = "serious"  # WCAG 2.2 failures
    pdfua: FailOnLevel = "serious"  # PDF/UA-1 failures that name no WCAG criterion
    advice: FailOnLevel = "serious"  # best practices, markup, other standards' clauses
    house: FailOnLevel = "serious"  # our own rules: our pages keep meeting them

    def levels(self) -> dict[str, str]:
        return {"wcag": self.wcag, "pdfua": self.pdfua, "advice": self.advice,
                "house": self.house}


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
    max_file_bytes: int = Field(default=DEFAULT_MAX_FILE_BYTES, gt=0)
    max_line_chars: int = Field(default=DEFAULT_MAX_LINE_CHARS, gt=0)
    max_table_columns: int = Field(default=DEFAULT_MAX_TABLE_COLUMNS, gt=0)
    review_period_days: int = Field(default=365, gt=0)
    plain_language: PlainLanguage = Field(default_factory=PlainLanguage)
    links: LinkSettings | None = None
    fail_on: FailOn = Field(default_factory=FailOn)

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
    if yaml_hazard(text, SourceSpan(shown, 1), diagnostics, "S101"):
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


def yaml_hazard(text: str, origin: SourceSpan, diagnostics: Diagnostics, code: str) -> bool:
    """Report YAML that would cost far more to load than its size; ``True`` when reported.

    Aliases (``*name``) are refused: a few lines of nested aliases expand to gigabytes when
    loaded (the "billion laughs"), and records need none. Nesting deeper than
    :data:`MAX_YAML_DEPTH` is refused before PyYAML's recursive composer meets it. The check
    reads the event stream, which costs time in proportion to the text and never expands
    anything. Syntax errors are left to :func:`~publisher.yamlsource.parse_yaml`, which reports
    them with their line.
    """
    depth = 0
    try:
        for event in yaml.parse(text, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader)):
            mark = event.start_mark
            where = origin.at(origin.line + mark.line, mark.column + 1) if mark else origin
            if isinstance(event, yaml.AliasEvent):
                diagnostics.error(
                    code,
                    f"the YAML uses the alias '*{event.anchor}', which is not allowed",
                    where,
                    "write the value out in full instead of referring to an anchor (&name)",
                )
                return True
            if isinstance(event, yaml.MappingStartEvent | yaml.SequenceStartEvent):
                depth += 1
                if depth > MAX_YAML_DEPTH:
                    diagnostics.error(
                        code,
                        f"the YAML is nested more than {MAX_YAML_DEPTH} levels deep",
                        where,
                        "check the indentation and the brackets: no field needs such nesting",
                    )
                    return True
            elif isinstance(event, yaml.MappingEndEvent | yaml.SequenceEndEvent):
                depth -= 1
    except yaml.reader.ReaderError as exc:
        # a character YAML does not allow (a control character, say): PyYAML's message has
        # neither line nor advice
        before = text[: exc.position]
        line = before.count("\n")
        column = exc.position - (before.rfind("\n") + 1) + 1
        character = exc.character if isinstance(exc.character, int) else ord(exc.character)
        diagnostics.error(
            code,
            f"the YAML contains the character U+{character:04X}, which YAML does not allow",
            origin.at(origin.line + line, column),
            "remove it (it is invisible in most editors) or retype the line",
        )
        return True
    except yaml.YAMLError:
        return False
    return False


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
