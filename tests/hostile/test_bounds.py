"""Bounds where input meets Python's limits: integer size, list indexes, path depth, argument encoding (exit 3)."""

from __future__ import annotations

from pathlib import Path

from tests.hostile.harness import expect, meshctl

HUGE = "9" * 5000


def test_5000_digit_integer_in_a_free_form_set_value() -> None:
    outcome = meshctl("manifest", "generate", "--set", f"values.global.foo={HUGE}")
    expect(outcome, 3, ["integer", "out of range", "5000 characters"])


def test_5000_digit_integer_in_a_typed_set_value() -> None:
    outcome = meshctl("profile", "dump", "--set", f"components.pilot.k8s.replicaCount={HUGE}")
    expect(outcome, 3, ["integer", "out of range"])


def test_5000_digit_list_index() -> None:
    outcome = meshctl("profile", "dump", "--set", f"components.ingressGateways[{HUGE}].name=x")
    expect(outcome, 3, ["index", "out of range"])


def test_5000_digit_integer_in_a_file(tmp_path: Path) -> None:
    path = tmp_path / "big.yaml"
    path.write_text(f"spec:\n  values:\n    global:\n      foo: {HUGE}\n")
    outcome = meshctl("manifest", "generate", "-f", str(path))
    expect(outcome, 3, [f"{path}:4:12", "integer", "out of range"])


def test_sexagesimal_and_hex_integers_are_bounded_too(tmp_path: Path) -> None:
    path = tmp_path / "sexagesimal.yaml"
    path.write_text("spec:\n  values:\n    global:\n      foo: " + ":".join(["59"] * 40) + "\n")
    expect(meshctl("profile", "dump", "-f", str(path)), 3, ["integer", "out of range"])
    path.write_text("spec:\n  values:\n    global:\n      foo: 0x" + "f" * 17 + "\n")
    expect(meshctl("profile", "dump", "-f", str(path)), 3, ["integer", "out of range"])


def test_500_segment_set_path_is_the_depth_limit() -> None:
    path = ".".join(["a"] * 500)
    outcome = meshctl("manifest", "generate", "--set", f"values.{path}=1")
    expect(outcome, 3, ["501 segments", "limit is 100"])


def test_500_segment_config_path_is_the_depth_limit() -> None:
    path = ".".join(["a"] * 500)
    outcome = meshctl("profile", "dump", "--config-path", path)
    expect(outcome, 3, ["500 segments", "limit is 100"])


def test_non_utf8_byte_in_a_set_argument() -> None:
    outcome = meshctl("manifest", "generate", "--set", b"values.global.x=\xff")
    expect(outcome, 3, ["argument 4 is not UTF-8", "\\xff"])


def test_huge_argument_is_the_size_limit() -> None:
    outcome = meshctl("profile", "dump", "--set", "values.global.x=" + "a" * (64 * 1024 + 1))
    expect(outcome, 3, ["argument 4 is too long"])
