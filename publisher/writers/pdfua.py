"""Repairs to WeasyPrint's PDF/UA-1 output that WeasyPrint has no option or stylesheet for.

In: the bytes of a tagged PDF as WeasyPrint writes it. Out: the same document with

- **one link annotation per link**, the OBJR child of its ``/Link`` structure element
  (ISO 14289-1 7.18.5, Matterhorn 28-011). WeasyPrint gives every box inside an ``<a>`` the
  link too (``weasyprint/anchors.py``: ``link = box.link or parent_link``), so a link holding a
  ``<bdi>``, a ``<strong>`` or an ``::after`` gets a second (and third) annotation, whose OBJR
  sits under the inner box's ``/Span`` or ``/NonStruct`` — and a screen reader meets the link
  several times. An inner annotation that covers no more than its link's own is removed (from the
  page, the structure tree and the ``/ParentTree``); one that reaches further (a rare layout) is
  moved up to be the OBJR child of its ``/Link``, with its ``/StructParent`` entry pointing
  there. An inner ``/Link`` element left with no annotation becomes a ``/Span``.
- **every glyph mapped to Unicode** (ISO 14289-1 7.21.7, Matterhorn 31-012). WeasyPrint maps
  the text of a cluster to the first glyph drawn and an empty string to the others
  (``weasyprint/draw/text.py``): an Arabic letter that carries a mark (the lam-alef ligature
  under a tanwin, in "أصلًا") is drawn as two glyphs, and the second one's ``<>`` makes the
  ToUnicode CMap malformed. Such a glyph gets the character the font's own cmap gives it
  (compatibility forms folded: the ligature is lam and alef), and the glyph that took the whole
  cluster keeps only what the other no longer carries (the mark), so the text still reads once.

The file stays deterministic: the structure is edited in its own order, the CMaps are written
sorted, and pikepdf keeps the first half of ``/ID`` and derives the second from the content.
"""

from __future__ import annotations

import io
import re
import unicodedata
from collections.abc import Iterator
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

import pikepdf

#: a rectangle this much (in points) beyond its link's is still taken as inside it
_TOLERANCE = Decimal("0.5")
_BFCHAR = re.compile(rb"<([0-9A-Fa-f]+)>\s*<([0-9A-Fa-f]*)>")
_BFCHAR_SECTION = re.compile(rb"beginbfchar(.*?)endbfchar", re.S)


def repair(data: bytes) -> bytes:
    """``data`` with its links and its fonts' Unicode maps repaired (see the module)."""
    with pikepdf.open(io.BytesIO(data)) as pdf:
        repair_links(pdf)
        repair_unicode_maps(pdf)
        out = io.BytesIO()
        pdf.save(out, deterministic_id=True)
    return out.getvalue()


# ---------------------------------------------------------------- links


def _kids(elem: Any) -> list[Any]:
    kids = elem.get("/K")
    if kids is None:
        return []
    return list(kids) if isinstance(kids, pikepdf.Array) else [kids]


def _is_link_objr(kid: Any) -> bool:
    return (isinstance(kid, pikepdf.Dictionary) and kid.get("/Type") == "/OBJR"
            and kid.get("/Obj") is not None and kid.Obj.get("/Subtype") == "/Link")


def _is_elem(kid: Any) -> bool:
    return isinstance(kid, pikepdf.Dictionary) and "/S" in kid and kid.get("/Type") != "/OBJR"


def _rect(annotation: pikepdf.Dictionary) -> tuple[Decimal, Decimal, Decimal, Decimal]:
    x1, y1, x2, y2 = (Decimal(str(value)) for value in annotation.Rect)
    return min(x1, x2), min(y1, y2), max(x1, x2), max(y1, y2)


def _inside(inner: pikepdf.Dictionary, outers: list[pikepdf.Dictionary]) -> bool:
    a = _rect(inner)
    for outer in outers:
        b = _rect(outer)
        if (a[0] >= b[0] - _TOLERANCE and a[1] >= b[1] - _TOLERANCE
                and a[2] <= b[2] + _TOLERANCE and a[3] <= b[3] + _TOLERANCE):
            return True
    return False


def _target(annotation: pikepdf.Dictionary) -> str:
    action = annotation.get("/A")
    if action is not None and "/URI" in action:
        return f"uri:{action.URI}"
    return f"dest:{annotation.get('/Dest')}"


def _set_kids(elem: pikepdf.Dictionary, kids: list[Any]) -> None:
    elem.K = pikepdf.Array(kids)


def _link_elements(pdf: pikepdf.Pdf) -> Iterator[Any]:
    """The outermost ``/Link`` elements of the structure tree, in reading order."""
    root = pdf.Root.get("/StructTreeRoot")
    if root is None:
        return
    seen: set[tuple[int, int]] = set()
    stack = [kid for kid in reversed(_kids(root)) if _is_elem(kid)]
    while stack:
        elem = stack.pop()
        if elem.is_indirect:
            if elem.objgen in seen:
                continue
            seen.add(elem.objgen)
        if elem.S == "/Link":
            yield elem
            continue
        stack.extend(kid for kid in reversed(_kids(elem)) if _is_elem(kid))


@dataclass
class _LinkRepair:
    """What the repair of one outermost ``/Link`` does to the annotations inside it."""

    link: Any
    own: list[Any]  # the annotations that are the link's own OBJR children
    parent_tree: Any
    removed: set[tuple[int, int]]
    moved: list[Any] = field(default_factory=list)

    def visit(self, elem: Any) -> None:
        kept = []
        for kid in _kids(elem):
            if _is_elem(kid):
                self.visit(kid)
                kept.append(kid)
                continue
            if not _is_link_objr(kid):
                kept.append(kid)
                continue
            annotation = kid.Obj
            if (self.own and _inside(annotation, self.own)
                    and all(_target(annotation) == _target(mine) for mine in self.own)):
                self.removed.add(annotation.objgen)
                if "/StructParent" in annotation:
                    del self.parent_tree[int(annotation.StructParent)]
            else:
                self.moved.append(kid)
                if "/StructParent" in annotation:
                    self.parent_tree[int(annotation.StructParent)] = self.link
        _set_kids(elem, kept)
        if elem.S == "/Link" and not any(_is_link_objr(kid) for kid in kept):
            elem.S = pikepdf.Name("/Span")  # its link is the outer one's


def repair_links(pdf: pikepdf.Pdf) -> int:
    """One annotation per link, the OBJR child of its outermost ``/Link`` (see the module).
    Returns the number of annotations removed or moved."""
    root = pdf.Root.get("/StructTreeRoot")
    if root is None or "/ParentTree" not in root:
        return 0
    parent_tree = pikepdf.NumberTree(root.ParentTree)
    removed: set[tuple[int, int]] = set()
    moved = 0
    for link in _link_elements(pdf):
        fix = _LinkRepair(link, [kid.Obj for kid in _kids(link) if _is_link_objr(kid)],
                          parent_tree, removed)
        for kid in _kids(link):
            if _is_elem(kid):
                fix.visit(kid)
        if fix.moved:
            kids = _kids(link)
            position = max((i + 1 for i, kid in enumerate(kids) if _is_link_objr(kid)),
                           default=0)
            _set_kids(link, kids[:position] + fix.moved + kids[position:])
            moved += len(fix.moved)
    if removed:
        for page in pdf.pages:
            annots = page.obj.get("/Annots")
            if annots is None:
                continue
            left = [a for a in annots if not (a.is_indirect and a.objgen in removed)]
            if len(left) != len(annots):
                page.obj.Annots = pikepdf.Array(left)
    return len(removed) + moved


# ---------------------------------------------------------------- ToUnicode CMaps


def _font_file(font: Any) -> bytes | None:
    descendants = font.get("/DescendantFonts")
    if font.get("/Subtype") != "/Type0" or not descendants:
        return None
    descriptor = descendants[0].get("/FontDescriptor")
    if descriptor is None or "/FontFile2" not in descriptor:
        return None
    return bytes(descriptor.FontFile2.read_bytes())


def _glyph_characters(font_file: bytes) -> dict[int, str]:
    """Glyph id -> the character the font's cmap gives it (the first, by code point)."""
    from fontTools.ttLib import TTFont  # WeasyPrint's own font library

    font = TTFont(io.BytesIO(font_file), lazy=True)
    best = font.getBestCmap() or {}
    out: dict[int, str] = {}
    for code in sorted(best):
        gid = font.getGlyphID(best[code])
        out.setdefault(gid, chr(code))
    return out


def _marks_only(text: str) -> bool:
    return bool(text) and all(unicodedata.category(char).startswith("M") for char in text)


def mend_mapping(mapping: dict[int, str], characters: dict[int, str]) -> dict[int, str]:
    """``mapping`` (glyph id -> text) with no empty text: see the module's second point."""
    mended = dict(mapping)
    for gid, text in mapping.items():
        if text:
            continue
        own = unicodedata.normalize("NFKC", characters.get(gid, "")) or "\ufffd"
        mended[gid] = own
        # the glyph that took the whole cluster (own text plus marks) keeps only the marks
        for other, cluster in mapping.items():
            if other == gid or len(cluster) <= len(own):
                continue
            rest = cluster
            for char in own:
                rest = rest.replace(char, "", 1)
            if (len(rest) == len(cluster) - len(own) and _marks_only(rest)
                    and characters.get(other, rest[0]) in rest):
                mended[other] = rest
    return mended


def _cmap(mapping: dict[int, str]) -> bytes:
    """A ToUnicode CMap as WeasyPrint writes them, entries sorted by glyph."""
    lines = [b"/CIDInit /ProcSet findresource begin", b"12 dict begin", b"begincmap",
             b"/CIDSystemInfo", b"<< /Registry (Adobe)", b"/Ordering (UCS)", b"/Supplement 0",
             b">> def", b"/CMapName /Adobe-Identity-UCS def", b"/CMapType 2 def",
             b"1 begincodespacerange", b"<0000> <ffff>", b"endcodespacerange"]
    items = sorted(mapping.items())
    for start in range(0, len(items), 100):
        batch = items[start:start + 100]
        lines.append(f"{len(batch)} beginbfchar".encode())
        lines += [f"<{gid:04x}> <{text.encode('utf-16-be').hex()}>".encode()
                  for gid, text in batch]
        lines.append(b"endbfchar")
    lines += [b"endcmap", b"CMapName currentdict /CMap defineresource pop", b"end", b"end"]
    return b"\n".join(lines)


def read_cmap(data: bytes) -> dict[int, str]:
    """The ``bfchar`` entries of a ToUnicode CMap (the only kind WeasyPrint writes)."""
    return {int(gid, 16): bytes.fromhex(text.decode()).decode("utf-16-be", "replace")
            for section in _BFCHAR_SECTION.findall(data)
            for gid, text in _BFCHAR.findall(section)}


def repair_unicode_maps(pdf: pikepdf.Pdf) -> int:
    """Every font's ToUnicode CMap without an empty entry. Returns the number of CMaps mended."""
    mended = 0
    seen: set[tuple[int, int]] = set()
    for page in pdf.pages:
        fonts = page.obj.get("/Resources", pikepdf.Dictionary()).get("/Font")
        for _, font in sorted(dict(fonts or {}).items()):
            if not font.is_indirect or font.objgen in seen or "/ToUnicode" not in font:
                continue
            seen.add(font.objgen)
            data = bytes(font.ToUnicode.read_bytes())
            if b"<>" not in data:
                continue
            font_file = _font_file(font)
            characters = _glyph_characters(font_file) if font_file else {}
            mapping = mend_mapping(read_cmap(data), characters)
            font.ToUnicode = pdf.make_stream(_cmap(mapping))
            mended += 1
    return mended
