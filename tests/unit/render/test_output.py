"""Output: the YAML stream, -o FILE.yaml and -o DIR, and the rule that a user's files are never overwritten."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from meshctl import errors
from meshctl.render import components, output

OBJS: list[dict[str, Any]] = [
    {"apiVersion": "v1", "kind": "ServiceAccount", "metadata": {"name": "a", "labels": {"v": "1.20", "on": "true"}}},
    {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "b"}, "data": {"multi": "line one\nline two\n"}},
]


def test_stream_separates_documents_with_dashes_and_has_no_trailing_separator() -> None:
    text = output.format_stream(OBJS)
    assert text.count("\n---\n") == 1
    assert not text.rstrip().endswith("---")
    assert text.endswith("\n")
    assert list(yaml.safe_load_all(text)) == OBJS


def test_stream_quotes_strings_yaml_would_misread_and_keeps_key_order() -> None:
    text = output.format_stream(OBJS[:1])
    assert "v: '1.20'" in text
    assert "'on': 'true'" in text
    assert text.index("apiVersion") < text.index("kind") < text.index("metadata")


def test_stream_writes_multiline_strings_as_literal_blocks() -> None:
    assert "  multi: |\n    line one\n    line two\n" in output.format_stream(OBJS[1:])


def test_empty_stream_is_empty() -> None:
    assert output.format_stream([]) == ""


def test_stream_never_writes_anchors_for_shared_values() -> None:
    shared = {"k": "v"}
    objs = [
        {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "x", "labels": shared, "annotations": shared}}
    ]
    assert "&id" not in output.format_stream(objs)


@pytest.mark.parametrize(
    ("target", "is_file"), [("out.yaml", True), ("out.YML", True), ("out", False), ("dir/", False)]
)
def test_file_or_directory_target(target: str, is_file: bool) -> None:
    assert output.is_file_target(target) is is_file


def test_existing_directory_named_like_a_yaml_file_is_a_directory_target(tmp_path: Path) -> None:
    (tmp_path / "weird.yaml").mkdir()
    assert not output.is_file_target(str(tmp_path / "weird.yaml"))


def test_write_file_writes_header_and_stream_and_replaces_its_own_file(tmp_path: Path) -> None:
    target = tmp_path / "out.yaml"
    output.write_file(str(target), OBJS)
    text = target.read_text()
    assert text == output.HEADER + output.format_stream(OBJS)
    assert list(yaml.safe_load_all(text)) == OBJS
    output.write_file(str(target), OBJS[:1])
    assert list(yaml.safe_load_all(target.read_text())) == OBJS[:1]
    assert target.stat().st_mode & 0o777 == 0o644


def test_write_file_refuses_a_file_meshctl_did_not_write(tmp_path: Path) -> None:
    target = tmp_path / "mine.yaml"
    target.write_text("my: notes\n")
    with pytest.raises(
        errors.InputError, match=r"refusing to overwrite .*mine\.yaml: it exists and was not written by"
    ):
        output.write_file(str(target), OBJS)
    assert target.read_text() == "my: notes\n"


def test_write_file_into_a_missing_directory_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(errors.InputError, match=r"directory .* does not exist"):
        output.write_file(str(tmp_path / "no" / "out.yaml"), OBJS)


def grouped() -> dict[str, list[dict[str, Any]]]:
    return {"Base": OBJS[:1], "Pilot": OBJS[1:]}


def test_write_directory_writes_a_file_per_component_and_a_kustomization(tmp_path: Path) -> None:
    target = tmp_path / "out"
    written = output.write_directory(str(target), grouped(), components.LABELS)
    assert [p.name for p in written] == ["Base.yaml", "Pilot.yaml", "kustomization.yaml"]
    assert list(yaml.safe_load_all((target / "Base.yaml").read_text())) == OBJS[:1]
    assert yaml.safe_load((target / "kustomization.yaml").read_text()) == {
        "apiVersion": "kustomize.config.k8s.io/v1beta1",
        "kind": "Kustomization",
        "resources": ["Base.yaml", "Pilot.yaml"],
    }


def test_write_directory_lists_namespaces_first(tmp_path: Path) -> None:
    ns = [{"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "istio-system"}}]
    output.write_directory(str(tmp_path / "o"), {output.NAMESPACES: ns, **grouped()}, components.LABELS)
    resources = yaml.safe_load((tmp_path / "o" / "kustomization.yaml").read_text())["resources"]
    assert resources == ["Namespaces.yaml", "Base.yaml", "Pilot.yaml"]


def test_write_directory_replaces_a_previous_output_and_removes_its_stale_files(tmp_path: Path) -> None:
    target = tmp_path / "out"
    output.write_directory(str(target), grouped(), components.LABELS)
    output.write_directory(str(target), {"Pilot": OBJS[1:]}, components.LABELS)
    assert sorted(p.name for p in target.iterdir()) == ["Pilot.yaml", "kustomization.yaml"]


def test_write_directory_into_an_empty_existing_directory(tmp_path: Path) -> None:
    output.write_directory(str(tmp_path), grouped(), components.LABELS)
    assert (tmp_path / "kustomization.yaml").is_file()


@pytest.mark.parametrize(
    ("name", "content"),
    [("notes.txt", "mine"), ("Pilot.yaml", "apiVersion: v1\n"), ("kustomization.yaml", "resources: []\n")],
)
def test_write_directory_refuses_a_directory_with_other_files_and_writes_nothing(
    tmp_path: Path, name: str, content: str
) -> None:
    (tmp_path / name).write_text(content)
    with pytest.raises(errors.InputError, match=f"refusing to overwrite .*: it holds {name}, which meshctl did not"):
        output.write_directory(str(tmp_path), grouped(), components.LABELS)
    assert sorted(p.name for p in tmp_path.iterdir()) == [name]
    assert (tmp_path / name).read_text() == content


def test_write_directory_refuses_a_subdirectory(tmp_path: Path) -> None:
    (tmp_path / "sub").mkdir()
    with pytest.raises(errors.InputError, match="it holds a directory meshctl did not create"):
        output.write_directory(str(tmp_path), grouped(), components.LABELS)


def test_write_directory_refuses_a_file_path(tmp_path: Path) -> None:
    (tmp_path / "f").write_text("x")
    with pytest.raises(errors.InputError, match="it is not a directory"):
        output.write_directory(str(tmp_path / "f"), grouped(), components.LABELS)
