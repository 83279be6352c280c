"""Reading a PDF's link structure back with pikepdf, for the tests (ISO 14289-1 7.18.5)."""

from __future__ import annotations

from collections import Counter
from typing import Any

import pikepdf


def _kids(node: Any) -> list[Any]:
    kids = node.get("/K")
    if kids is None:
        return []
    return list(kids) if isinstance(kids, pikepdf.Array) else [kids]


def link_structure_problems(pdf: pikepdf.Pdf) -> list[str]:
    """What breaks "one annotation per link, the OBJR child of its /Link": every link
    annotation on a page is referenced by exactly one OBJR, that OBJR is a kid of a /Link
    element with no /Link above it, the annotation's /StructParent leads to that element in the
    /ParentTree, and it has /Contents."""
    root = pdf.Root.StructTreeRoot
    parents: dict[tuple[int, int], list[tuple[Any, bool]]] = {}
    stack: list[tuple[Any, bool]] = [(kid, False) for kid in _kids(root)]
    while stack:
        elem, under_link = stack.pop()
        if not isinstance(elem, pikepdf.Dictionary) or "/S" not in elem:
            continue
        for kid in _kids(elem):
            if isinstance(kid, pikepdf.Dictionary) and kid.get("/Type") == "/OBJR":
                parents.setdefault(kid.Obj.objgen, []).append((elem, under_link))
            else:
                stack.append((kid, under_link or elem.S == "/Link"))
    tree = pikepdf.NumberTree(root.ParentTree)
    problems = []
    annotations = Counter[tuple[int, int]]()
    for number, page in enumerate(pdf.pages, start=1):
        for annot in page.obj.get("/Annots", []):
            if annot.get("/Subtype") != "/Link":
                continue
            annotations[annot.objgen] += 1
            where = f"page {number}, annotation {annot.objgen[0]}"
            found = parents.get(annot.objgen, [])
            if len(found) != 1:
                problems.append(f"{where}: {len(found)} OBJR for it")
                continue
            elem, under_link = found[0]
            if elem.S != "/Link" or under_link:
                problems.append(f"{where}: its OBJR is under {elem.S}"
                                + (" inside a /Link" if under_link else ""))
            if "/StructParent" not in annot:
                problems.append(f"{where}: no /StructParent")
            elif tree.get(int(annot.StructParent)) is None or \
                    tree[int(annot.StructParent)].objgen != elem.objgen:
                problems.append(f"{where}: /ParentTree does not lead to its /Link")
            if not str(annot.get("/Contents", "")).strip():
                problems.append(f"{where}: no /Contents")
    problems += [f"annotation {objgen[0]} is on {count} pages"
                 for objgen, count in annotations.items() if count > 1]
    problems += [f"an OBJR refers to annotation {objgen[0]}, which is on no page"
                 for objgen in parents if objgen not in annotations
                 and pdf.get_object(objgen).get("/Subtype") == "/Link"]
    return problems
