"""How long the Markdown parser takes on hostile text, and what the limits bound it to.

Run: ``.venv/bin/python benchmarks/bench_hostile.py [--sizes 50000,100000]``. For each
pathological pattern (unclosed brackets, emphasis runs, nesting, wide tables…) it parses a body
of each size with :class:`publisher.parse.BodyParser` (limits raised so that the text reaches
markdown-it) and prints the seconds, the microseconds per byte and the codes reported; then it
parses the same bodies with the default limits, which refuse the worst before markdown-it runs.
The size limit ``max_file_bytes`` (default in :mod:`publisher.config`) times the worst
microseconds per byte is the longest one file can keep the parser busy.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path, PurePosixPath

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from publisher.config import DEFAULT_MAX_FILE_BYTES  # noqa: E402
from publisher.diagnostics import Diagnostics, SourceSpan  # noqa: E402
from publisher.parse import BodyParser  # noqa: E402

#: a unit repeated to the size; a line break every 1,000 characters keeps lines under the limit
PATTERNS = {
    "unclosed brackets [": "[",
    "emphasis then bracket *[": "*[",
    "image openers ![": "![",
    "unclosed links [a](": "[a](",
    "emphasis runs *a ": "*a ",
    "nested lists - - -": "- ",
    "nested quotes >>>": ">",
    "emphasis nesting ***": "*",
    "hard breaks a··\\n": "a  \n",
    "reference definitions": "[a]: b\n",
}


def body_of(unit: str, size: int, wrap: bool) -> str:
    parts: list[str] = []
    count = 0
    while count < size:
        parts.append(unit)
        count += len(unit)
        if wrap and count % 1000 < len(unit):
            parts.append("\n")
            count += 1
    # a closing word: a line of only "- - -" or "***" would be a thematic break, not nesting
    return "".join(parts) + ("" if wrap else "x")


def parse(body: str, raised: bool) -> tuple[float, list[str]]:
    diagnostics = Diagnostics()
    limits = {"max_line_chars": 10**9, "max_table_columns": 10**9} if raised else {}
    parser = BodyParser(SourceSpan("bench.md", 1), PurePosixPath("en/bench.md"), ROOT,
                        diagnostics, lambda _: None, **limits)  # type: ignore[arg-type]
    started = time.perf_counter()
    parser.parse(body)
    return time.perf_counter() - started, sorted({d.code for d in diagnostics})


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sizes", default="50000,100000",
                        help="body sizes in characters, comma-separated")
    args = parser.parse_args()
    sizes = [int(size) for size in args.sizes.split(",")]
    worst = 0.0
    print(f"{'pattern':<28}{'size':>10}{'seconds':>10}{'µs/byte':>10}  codes (limits raised)")
    for name, unit in PATTERNS.items():
        for size in sizes:
            body = body_of(unit, size, wrap=unit not in {"- ", ">", "*"})
            seconds, codes = parse(body, raised=True)
            per_byte = seconds / len(body) * 1e6
            worst = max(worst, per_byte)
            print(f"{name:<28}{len(body):>10,}{seconds:>10.2f}{per_byte:>10.1f}  {codes}")
    print(f"\nworst: {worst:.1f} µs per byte; at the default max_file_bytes "
          f"({DEFAULT_MAX_FILE_BYTES:,}) one file parses in at most about "
          f"{worst * DEFAULT_MAX_FILE_BYTES / 1e6:.0f} s")
    print("\nwith the default limits (refused before markdown-it runs):")
    for name, body in (
        ("10 MB line", "a" * 10_000_000),
        ("100,000 nested list items", "- " * 100_000 + "x"),
        ("table of 10,000 columns", "|" + "a|" * 10_000 + "\n|" + "-|" * 10_000),
    ):
        seconds, codes = parse(body, raised=False)
        print(f"{name:<28}{len(body):>10,}{seconds:>10.2f}{'':>10}  {codes}")


if __name__ == "__main__":
    main()
