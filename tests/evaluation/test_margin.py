"""Evidence at the margin: a synthetic world whose places go by rank, with a lottery band at the cut-off.

The world is the issue's (20,000 young people over 5 years, seed 1, the bench's
first) with 8 Monte Carlo paths for the truth instead of 32, to stay quick; the
bench (bench/bench_evaluate.py) repeats it over seeds.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

from cli.app import app
from evaluation.margin import _relative_to_untreated, margin_rows, read_allocations
from features.load import load_bundle
from previ.config import LotteryBandConfig, PreviConfig, SynthConfig
from synthetic.synth import synthesize

BAND = LotteryBandConfig(width=0.25, seed=7)


@pytest.fixture(scope="module")
def lottery_world(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("lottery") / "bundle"
    synthesize(SynthConfig(youth=20_000, years=5, seed=1, allocation="rank"), folder, paths=8, lottery=BAND)
    return folder


def _evaluate(tmp_path: Path, bundle: Path, design: str) -> tuple[int, str, dict[str, object]]:
    config = tmp_path / "previ.yaml"
    config.write_text(f"training:\n  tracking_uri: sqlite:///{tmp_path / 'mlflow.db'}\n")
    out = tmp_path / design
    result = CliRunner().invoke(
        app,
        ["evaluate", "--config", str(config), "--data", str(bundle), "--design", design, "--out", str(out)],
    )
    found = json.loads((out / "evaluation.json").read_text()) if result.exit_code == 0 else {}
    return result.exit_code, result.output, found


def test_the_lottery_is_logged_and_fair(lottery_world: Path) -> None:
    manifest = json.loads((lottery_world / "manifest.json").read_text())
    assert manifest["allocation"]["lottery_band"] == {"width": 0.25, "seed": 7}
    table = pd.read_parquet(lottery_world / manifest["allocation"]["allocations"])
    band = table[table["lottery"]]
    assert band["lottery_draw"].notna().all() and table.loc[~table["lottery"], "lottery_draw"].isna().all()
    for _, rows in band.groupby("cycle"):
        assert rows["offered"].sum() * 2 == len(rows)  # half the band wins, by the highest draws
        assert (
            rows.loc[rows["offered"], "lottery_draw"].min() > rows.loc[~rows["offered"], "lottery_draw"].max()
        )
    first_band_rank = band.groupby("cycle")["rank"].min()
    outside = table[~table["lottery"]]
    assert (outside["offered"] == (outside["rank"] < outside["cycle"].map(first_band_rank))).all()


def test_truth_at_the_margin_is_in_truth_effects(lottery_world: Path) -> None:
    margin = json.loads((lottery_world / "truth_effects.json").read_text())["margin"]
    assert margin["lottery_band"] == {"width": 0.25, "seed": 7}
    assert margin["n_in_margin"] > 500
    assert 0.05 < margin["relative_risk_reduction"] < 0.4  # the default effects, at high need


def test_the_rank_puts_every_row_on_its_side_of_each_threshold(lottery_world: Path) -> None:
    """The priority has ties at the band's edges (a tie-break decided who was in); the rank does not."""
    settings = PreviConfig()
    bundle = load_bundle(lottery_world, audit_columns=settings.data.audit_columns)
    frame = margin_rows(bundle, read_allocations(lottery_world, "rd"), settings.features).frame
    band, offered = frame["lottery"].astype(bool), frame["offered"].astype(bool)
    assert (frame["running_top"] > 0).eq(~band & offered).all()  # above the band: a sure place
    assert (frame["running_bottom"] < 0).eq(~band & ~offered).all()  # below it: none
    assert ((frame.loc[band, "running_top"] < 0) & (frame.loc[band, "running_bottom"] > 0)).all()
    ties = frame.groupby("cycle")["priority"].transform(lambda p: p.duplicated(keep=False))
    straddling = frame[ties].groupby(["cycle", "priority"])["lottery"].nunique() > 1
    assert straddling.any()  # the world has ties across an edge, which a priority scale puts at 0


def test_the_relative_reduction_divides_by_the_untreated_risk() -> None:
    interval = _relative_to_untreated(-0.03, (-0.13, 0.07), 0.2)
    assert interval.value == pytest.approx(0.15) and interval.ci == pytest.approx((-0.35, 0.65))
    assert _relative_to_untreated(-0.15, (-0.25, -0.05), 0.2).ci == pytest.approx((0.25, 1.0))  # <= 100%
    nobody = _relative_to_untreated(-0.03, (-0.13, 0.07), 0.0)  # no outcome among the untreated
    assert math.isnan(nobody.value) and all(math.isnan(bound) for bound in nobody.ci)


@pytest.mark.slow
@pytest.mark.parametrize("design", ["lottery", "rd"])
def test_margin_designs_cover_the_truth_at_the_margin(
    lottery_world: Path, tmp_path: Path, design: str
) -> None:
    code, output, found = _evaluate(tmp_path, lottery_world, design)
    assert code == 0, output
    assert "Mass points" not in output  # rdrobust's print about ranks repeating across cycles
    truth = json.loads((lottery_world / "truth_effects.json").read_text())["margin"]
    served = found["served"]  # type: ignore[index]
    low, high = served["relative_risk_reduction"]["ci"]
    assert low <= truth["relative_risk_reduction"] <= high, (low, high, truth["relative_risk_reduction"])
    assert found["design"] == design  # type: ignore[index]
    if design == "lottery":  # the randomisation check: winners and losers have the same priority
        assert abs(served["balance_max_smd"]["before"]) < 0.1
    report = (tmp_path / design / "evaluation_en.html").read_text()
    assert (
        "At the margin" in report
        and "At the margin" not in (tmp_path / design / "evaluation_es.html").read_text()
    )


def test_designs_need_an_allocations_table(synthetic_bundle: Path, tmp_path: Path) -> None:
    code, output, _ = _evaluate(tmp_path, synthetic_bundle, "lottery")
    assert code == 2
    assert "--design lottery: the bundle has no allocations table" in output
    assert "Traceback" not in output and not (tmp_path / "lottery").exists()


def test_unknown_design_is_refused(tmp_path: Path) -> None:
    result = CliRunner().invoke(
        app, ["evaluate", "--data", "x", "--design", "iv", "--out", str(tmp_path / "o")]
    )
    assert result.exit_code == 2
    assert "--design: expected rd or lottery (got 'iv')" in result.output


def test_rank_world_without_a_band_has_a_sharp_cut_off_and_no_lottery(tmp_path: Path) -> None:
    bundle = tmp_path / "rank"
    synthesize(SynthConfig(youth=4000, years=3, seed=3, allocation="rank"), bundle, paths=4)
    manifest = json.loads((bundle / "manifest.json").read_text())
    assert manifest["allocation"]["lottery_band"] is None
    table = pd.read_parquet(bundle / manifest["allocation"]["allocations"])
    assert not table["lottery"].any()
    assert (table["offered"] == (table["rank"] <= table["places"])).all()
    code, output, _ = _evaluate(tmp_path, bundle, "lottery")
    assert code == 2 and "no cycle of the allocations table has a lottery band" in output
    code, output, found = _evaluate(tmp_path, bundle, "rd")  # sharp at the cut-off
    assert code == 0, output
    truth = json.loads((bundle / "truth_effects.json").read_text())["margin"]["relative_risk_reduction"]
    low, high = found["served"]["relative_risk_reduction"]["ci"]  # type: ignore[index]
    assert low <= truth <= high and high <= 1.0
