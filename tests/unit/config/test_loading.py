"""Input-safety limits (config.md §5): each bad input is rejected by the limit meant for it."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import pytest

from meshctl import errors
from meshctl.config import loading


def _limit(exc_info: pytest.ExceptionInfo[errors.InputLimitError]) -> str:
    return exc_info.value.limit


def test_alias_bomb_trips_the_alias_limit(tmp_path: Path) -> None:
    lines = ['a0: &a0 ["lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol"]']
    for i in range(1, 10):
        refs = ", ".join([f"*a{i - 1}"] * 9)
        lines.append(f"a{i}: &a{i} [{refs}]")
    path = tmp_path / "bomb.yaml"
    path.write_text("\n".join(lines) + "\n")
    assert path.stat().st_size < 2000
    with pytest.raises(errors.InputLimitError) as info:
        loading.load_iop_file(str(path))
    assert _limit(info) == "aliases"
    assert "aliases expand" in info.value.message


def test_recursive_alias_trips_the_alias_limit() -> None:
    with pytest.raises(errors.InputLimitError) as info:
        loading.load_documents("a: &x [*x]\n", "t.yaml")
    assert _limit(info) == "aliases"


def test_small_alias_use_is_fine_and_copies_are_independent() -> None:
    doc = loading.load_documents("base: &b {cpu: 1}\none: *b\ntwo:\n  <<: *b\n  mem: 2\n", "t.yaml")[0]
    assert doc == {"base": {"cpu": 1}, "one": {"cpu": 1}, "two": {"mem": 2, "cpu": 1}}
    doc["one"]["cpu"] = 5
    assert doc["base"]["cpu"] == 1


def test_hundred_mib_file_trips_the_size_limit_without_being_read(tmp_path: Path) -> None:
    path = tmp_path / "huge.yaml"
    with path.open("wb") as handle:  # sparse: cheap to create
        handle.truncate(100 * 1024 * 1024)
    with pytest.raises(errors.InputLimitError) as info:
        loading.load_iop_file(str(path))
    assert _limit(info) == "size"
    assert "100 MiB" in info.value.message
    assert "4 MiB" in info.value.message


def test_large_stdin_trips_the_size_limit() -> None:
    class Stdin(io.StringIO):
        buffer = io.BytesIO(b"a: 1\n" * (loading.MAX_BYTES // 4))

    with pytest.raises(errors.InputLimitError) as info:
        loading.load_iop_file("-", Stdin())
    assert _limit(info) == "size"


def test_binary_garbage_trips_the_encoding_limit(tmp_path: Path) -> None:
    path = tmp_path / "garbage.bin"
    path.write_bytes(bytes(range(256)) * 8)
    with pytest.raises(errors.InputLimitError) as info:
        loading.load_iop_file(str(path))
    assert _limit(info) == "encoding"


def test_binary_data_that_is_valid_utf8_trips_the_binary_limit(tmp_path: Path) -> None:
    path = tmp_path / "elf"
    path.write_bytes(b"\x7fELF\x02\x01\x01\x00\x00\x00spec: {}\n")
    with pytest.raises(errors.InputLimitError) as info:
        loading.load_iop_file(str(path))
    assert _limit(info) == "binary"


def test_non_utf8_text_trips_the_encoding_limit(tmp_path: Path) -> None:
    path = tmp_path / "latin1.yaml"
    path.write_bytes("spec:\n  hub: caf\u00e9\n".encode("latin-1"))
    with pytest.raises(errors.InputLimitError) as info:
        loading.load_iop_file(str(path))
    assert _limit(info) == "encoding"
    assert "0xe9" in info.value.message
    path.write_bytes("spec: {}\n".encode("utf-16"))
    with pytest.raises(errors.InputLimitError) as info:
        loading.load_iop_file(str(path))
    assert _limit(info) == "encoding"


def test_utf8_with_byte_order_mark_is_accepted(tmp_path: Path) -> None:
    path = tmp_path / "bom.yaml"
    path.write_bytes("spec:\n  hub: café\n".encode("utf-8-sig"))
    assert loading.load_iop_file(str(path)) == {"spec": {"hub": "café"}}


@pytest.mark.parametrize(
    "text",
    [
        "a: " + "[" * 150 + "]" * 150,  # flow nesting beyond the exact limit
        "a: " + "[" * 100_000,  # beyond the lexical guard: rejected before the parser recurses
        "".join(f"{'  ' * i}k{i}:\n" for i in range(150)) + "  " * 150 + "x: 1\n",  # block nesting
    ],
)
def test_deep_nesting_trips_the_depth_limit(text: str) -> None:
    with pytest.raises(errors.InputLimitError) as info:
        loading.load_documents(text, "deep.yaml")
    assert _limit(info) == "depth"


def test_duplicate_keys_trip_the_duplicate_key_limit() -> None:
    with pytest.raises(errors.InputLimitError) as info:
        loading.load_documents("spec:\n  hub: a\n  hub: b\n", "dup.yaml")
    assert _limit(info) == "duplicate-keys"
    assert "dup.yaml:3:3: duplicate key 'hub'" in info.value.message


def test_more_than_one_document_is_an_error_naming_the_file() -> None:
    with pytest.raises(errors.InputLimitError) as info:
        loading.load_iop("spec: {}\n---\nspec: {}\n", "two.yaml")
    assert _limit(info) == "documents"
    assert info.value.message.startswith("two.yaml: holds 2 YAML documents")
    assert loading.load_iop("---\nspec: {}\n---\n", "one.yaml") == {"spec": {}}


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("a: [b", "invalid YAML"),
        ("a: !!binary aGk=", "unsupported YAML tag"),
        ("a: !custom x", "unsupported YAML tag"),
        ("a: .inf", "not a finite number"),
        ("? [a]\n: b", "mapping key must be a plain value"),
        ("- a\n- b", "must be a map"),
        ("kind: Deployment", "kind is 'Deployment'"),
        ("apiVersion: v1", "apiVersion is 'v1'"),
        ("spec: 5", "spec must be a map"),
    ],
)
def test_bad_documents(text: str, message: str) -> None:
    with pytest.raises(errors.InputError, match=message):
        loading.load_iop(text, "bad.yaml")


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("spec: null\n", {}),
        ("", {}),
        ("# only a comment\n", {}),
        ("spec:\n  date: 2024-01-01\n  on: yes\n  1: x\n", {"spec": {"date": "2024-01-01", "on": True, "1": "x"}}),
    ],
)
def test_good_documents(text: str, expected: Any) -> None:
    assert loading.load_iop(text, "ok.yaml") == expected


def test_missing_file_and_directory(tmp_path: Path) -> None:
    with pytest.raises(errors.InputError, match=r"cannot read .*nope\.yaml: No such file"):
        loading.load_iop_file(str(tmp_path / "nope.yaml"))
    with pytest.raises(errors.InputError, match="is a directory"):
        loading.load_iop_file(str(tmp_path))


def test_stdin_is_read_once() -> None:
    stdin = io.StringIO("spec:\n  hub: x\n")
    assert loading.load_iop_file("-", stdin) == {"spec": {"hub": "x"}}
    assert loading.load_iop_file("-", stdin) == {}
