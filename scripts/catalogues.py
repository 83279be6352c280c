"""Keep the interface catalogues in step with the code and templates.

    python scripts/catalogues.py                 # extract, then update every .po from the .pot
    python scripts/catalogues.py --merge F.tsv   # also take translations from a TSV file
                                                  # (msgid<TAB>fr<TAB>ar), e.g. from a translator

This wraps Babel (`pybabel extract` / `update`) so that one command does the round trip with the
project's settings; the catalogues themselves are ordinary gettext .po files.
"""

from __future__ import annotations

import argparse
import csv
import subprocess
import sys
from pathlib import Path

from babel.messages.pofile import read_po, write_po

ROOT = Path(__file__).resolve().parent.parent
LOCALE = ROOT / "publisher" / "locale"
POT = LOCALE / "messages.pot"
LANGUAGES = ("fr", "ar")


def extract() -> None:
    LOCALE.mkdir(parents=True, exist_ok=True)
    subprocess.run(
        [sys.executable, "-m", "babel.messages.frontend", "extract", "-F", "babel.cfg",
         "-k", "N_", "--no-location", "--sort-output", "--omit-header", "-o", str(POT), "."],
        cwd=ROOT, check=True, capture_output=True,
    )


def update(merge: list[Path]) -> None:
    with POT.open("rb") as handle:
        template = read_po(handle)
    extra: dict[str, dict[str, str]] = {lang: {} for lang in LANGUAGES}
    for path in merge:
        with path.open(encoding="utf-8") as handle:
            for row in csv.reader(handle, delimiter="\t", quoting=csv.QUOTE_NONE):
                if len(row) >= 3 and row[0]:
                    extra["fr"][row[0]] = row[1]
                    extra["ar"][row[0]] = row[2]
    for lang in LANGUAGES:
        po = LOCALE / lang / "LC_MESSAGES" / "messages.po"
        po.parent.mkdir(parents=True, exist_ok=True)
        if po.exists():
            with po.open("rb") as handle:
                catalog = read_po(handle, locale=lang)
        else:
            from babel.messages.catalog import Catalog

            catalog = Catalog(locale=lang, project="publisher")
        catalog.update(template, no_fuzzy_matching=True)
        for msgid, text in extra[lang].items():
            message = catalog.get(msgid)
            if message is not None and text:
                message.string = text
                message.flags.discard("fuzzy")
        catalog.obsolete.clear()
        with po.open("wb") as handle:
            write_po(handle, catalog, no_location=True, omit_header=False, sort_output=True,
                     width=100)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--merge", type=Path, action="append", default=[])
    args = parser.parse_args()
    extract()
    update(args.merge)


if __name__ == "__main__":
    main()
