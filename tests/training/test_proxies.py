"""The proxy screen: a feature that alone predicts a protected column never becomes a feature."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from previ.config import TrainingConfig
from previ.errors import PreviError
from training.dataset import TrainingSet
from training.proxies import find_proxies, screen_proxies


def _data(n: int = 2000, seed: int = 0) -> TrainingSet:
    rng = np.random.default_rng(seed)
    sex = rng.choice(["F", "M"], n)
    region = rng.choice(["north", "south", "east"], n)
    features = pd.DataFrame(
        {
            "attendance": rng.normal(size=n),
            "sex_like": (sex == "F") + rng.normal(scale=0.5, size=n),  # a stand-in for sex
            "region_text": pd.Categorical(np.where(rng.random(n) < 0.95, region, "other")),
            "age": rng.integers(11, 20, n).astype(float),
        }
    )
    groups = pd.DataFrame(
        {"sex": sex, "region": region, "age_band": np.where(features["age"] < 15, "11-14", "15-19")}
    )
    return TrainingSet(
        features=features,
        label=(rng.random(n) < 0.2).astype(np.int8),
        ids=np.array([f"Y{i}" for i in range(n)], dtype=object),
        groups=groups.astype("string"),
        monotone={"attendance": -1, "sex_like": 0, "age": 0},
    )


def test_numeric_and_category_proxies_are_found_with_their_figures() -> None:
    data = _data()
    findings = {(f.feature, f.protected): f for f in find_proxies(data.features, data.groups)}
    assert findings[("sex_like", "sex")].measure == "ROC AUC"
    assert findings[("sex_like", "sex")].figure > 0.9
    assert findings[("region_text", "region")].measure == "Cramér's V"
    assert ("attendance", "sex") not in findings and ("attendance", "region") not in findings


def test_screen_leaves_proxies_out_keeps_age_and_says_why() -> None:
    screened = screen_proxies(_data(), TrainingConfig())
    assert screened.feature_names == ["attendance", "age"]  # age band is exempt: age is developmental
    excluded = dict(screened.excluded)
    assert set(excluded) == {"sex_like", "region_text"}
    assert "sex" in excluded["sex_like"] and "ROC AUC" in excluded["sex_like"]
    assert screened.allowed == ()


def test_without_the_exemption_age_is_a_proxy_of_age_band() -> None:
    screened = screen_proxies(_data(), TrainingConfig(proxy_exempt=()))
    assert "age" not in screened.feature_names
    assert dict(screened.excluded)["age"].startswith("proxy: alone predicts age_band")
    assert "sex_like" not in screened.monotone
    assert any(
        "left out sex_like" in warning and "--allow-feature sex_like" in warning
        for warning in screened.warnings
    )


def test_allow_feature_keeps_a_flagged_feature_and_records_it() -> None:
    screened = screen_proxies(_data(), TrainingConfig(), allow=["sex_like"])
    assert "sex_like" in screened.feature_names
    assert "sex_like" in dict(screened.allowed)


def test_thresholds_come_from_the_config() -> None:
    lenient = TrainingConfig(proxy_auc=0.99, proxy_cramers_v=0.99)
    assert screen_proxies(_data(), lenient).feature_names == ["attendance", "sex_like", "region_text", "age"]


def test_a_table_of_nothing_but_proxies_is_refused_clearly() -> None:
    data = _data()
    only_proxies = TrainingSet(
        features=data.features[["sex_like"]], label=data.label, ids=data.ids, groups=data.groups
    )
    with pytest.raises(PreviError, match="--allow-feature"):
        screen_proxies(only_proxies, TrainingConfig())
