"""The scenario table itself (no cluster needed): ids unique, deviations named by scenario and documented."""

from __future__ import annotations

import pathlib

from tests.conformance.scenarios import DEVIATIONS, REASONS, SCENARIOS

README = pathlib.Path(__file__).parents[1] / "apiserver" / "README.md"


def test_at_least_sixty_scenarios_with_unique_ids() -> None:
    ids = [s.id for s in SCENARIOS]
    assert len(ids) == len(set(ids))
    assert len(ids) >= 60
    assert len(ids) - len(DEVIATIONS) >= 50


def test_every_deviation_names_a_scenario_and_a_documented_reason() -> None:
    ids = {s.id for s in SCENARIOS}
    assert set(DEVIATIONS) <= ids
    text = README.read_text()
    assert "## Accepted deviations from kube-apiserver" in text
    for deviation in DEVIATIONS.values():
        assert deviation.reason in REASONS
        assert deviation.paths
    for key in {d.reason for d in DEVIATIONS.values()}:
        assert f"`{key}`" in text, f"reason {key} is not in tests/apiserver/README.md"
