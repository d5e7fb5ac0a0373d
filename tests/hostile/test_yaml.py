"""Hostile YAML: alias bombs (also inside overlay values), aliases of one large scalar, deep and big files.

Every YAML text goes through one loader with the limits of ``config.md`` §5; each case names the limit it trips.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from meshctl.config import loading
from tests.hostile.harness import expect, meshctl


def _write(tmp_path: Path, name: str, text: str) -> str:
    path = tmp_path / name
    path.write_text(text)
    return str(path)


def _bomb(levels: int = 8) -> str:
    lines = ["a: &a [x,x,x,x,x,x,x,x,x]"]
    for i in range(1, levels):
        prev, cur = chr(ord("a") + i - 1), chr(ord("a") + i)
        lines.append(f"{cur}: &{cur} [{','.join(['*' + prev] * 9)}]")
    return "\n".join(lines) + "\n"


def test_alias_bomb_in_a_file(tmp_path: Path) -> None:
    path = _write(
        tmp_path,
        "bomb.yaml",
        "spec:\n  values:\n    global:\n" + "".join(f"      {line}\n" for line in _bomb().splitlines()),
    )
    expect(meshctl("manifest", "generate", "-f", path), 3, ["aliases expand", "extra nodes"])


def test_alias_bomb_in_an_overlay_value_string(tmp_path: Path) -> None:
    # The multi-line string form of a patch value is YAML too: the 736-byte file that used 3 GB.
    value = _bomb().replace("\n", "\\n")
    text = (
        "spec:\n  components:\n    pilot:\n      k8s:\n        overlays:\n        - kind: Deployment\n"
        "          name: istiod\n          patches:\n          - path: metadata.annotations\n"
        f'            value: "{value}"\n'
    )
    outcome = meshctl("manifest", "generate", "-f", _write(tmp_path, "overlay.yaml", text))
    expect(outcome, 3, ["components.pilot.k8s.overlays[0].patches[0].value", "aliases expand"])


def test_aliases_of_one_large_scalar_count_their_size(tmp_path: Path) -> None:
    big = "a" * (100 * 1024)
    text = f'spec:\n  values:\n    global:\n      s: &x "{big}"\n      l:\n' + "        - *x\n" * 1000
    outcome = meshctl("manifest", "generate", "-f", _write(tmp_path, "scalar.yaml", text))
    expect(outcome, 3, ["aliases expand", "1 MiB of text"])


def test_recursive_alias(tmp_path: Path) -> None:
    outcome = meshctl("profile", "dump", "-f", _write(tmp_path, "rec.yaml", "spec: &s\n  values: *s\n"))
    assert outcome.code == 3, outcome.stderr
    assert "alias" in outcome.first_line


def test_deep_block_nesting(tmp_path: Path) -> None:
    text = "".join(" " * i + "a:\n" for i in range(2000))
    expect(meshctl("profile", "dump", "-f", _write(tmp_path, "deep.yaml", text)), 3, "nesting deeper than 100")


def test_deep_flow_nesting(tmp_path: Path) -> None:
    text = "spec: " + "[" * 100_000 + "]" * 100_000 + "\n"
    expect(meshctl("profile", "dump", "-f", _write(tmp_path, "flow.yaml", text)), 3, "nesting deeper than 100")


def test_file_over_the_size_limit(tmp_path: Path) -> None:
    path = tmp_path / "huge.yaml"
    path.write_bytes(b"#" * (loading.MAX_BYTES + 1))
    expect(meshctl("profile", "dump", "-f", str(path)), 3, ["input too large", "the limit is 4 MiB"])


def test_stdin_over_the_size_limit() -> None:
    outcome = meshctl("profile", "dump", "-f", "-", stdin=b"#" * (loading.MAX_BYTES + 1))
    expect(outcome, 3, ["<stdin>: input too large"])


def test_binary_garbage(tmp_path: Path) -> None:
    path = tmp_path / "garbage.yaml"
    path.write_bytes(b"spec:\n  hub: \x00\x01\x02\n")
    expect(meshctl("profile", "dump", "-f", str(path)), 3, ["binary data", "U+0000"])


def test_not_utf8(tmp_path: Path) -> None:
    path = tmp_path / "latin1.yaml"
    path.write_bytes(b"spec:\n  hub: caf\xe9\n")
    expect(meshctl("profile", "dump", "-f", str(path)), 3, ["not UTF-8", "0xe9"])


def test_duplicate_keys(tmp_path: Path) -> None:
    outcome = meshctl("profile", "dump", "-f", _write(tmp_path, "dup.yaml", "spec:\n  hub: a\n  hub: b\n"))
    expect(outcome, 3, "duplicate key 'hub'")


def test_one_large_legal_scalar_loads_with_libyaml(tmp_path: Path) -> None:
    if not loading.WITH_LIBYAML:
        pytest.skip("PyYAML without libyaml")
    text = 'spec:\n  values:\n    global:\n      s: "' + "a" * (loading.MAX_BYTES - 100) + '"\n'
    outcome = meshctl("profile", "dump", "-f", _write(tmp_path, "large.yaml", text), "--config-path", "hub")
    assert outcome.code == 0, outcome.stderr


def test_the_c_parser_is_used_where_installed() -> None:
    import yaml

    assert bool(getattr(yaml, "__with_libyaml__", False)) == loading.WITH_LIBYAML


def test_alias_bomb_in_a_kube_inject_manifest(tmp_path: Path) -> None:
    text = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: x\ndata:\n" + "".join(
        f"  {line}\n" for line in _bomb().splitlines()
    )
    outcome = meshctl("kube-inject", "-f", _write(tmp_path, "workload.yaml", text))
    expect(outcome, 3, ["workload.yaml:1", "aliases expand"])
