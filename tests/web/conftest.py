"""Fixtures of the web tests: a real trained model served on loopback with snapshots, and a real browser.

The service is the one the API tests use (a real glass box from a real MLflow
registry, under uvicorn in a thread), with three ``previ score`` snapshots, two
caseworkers with caseloads and a few recorded decisions. The browser is
Debian's Chromium driven by Playwright; tests marked ``browser`` are skipped,
with the reason, when it (or the playwright package) is missing.
"""

from __future__ import annotations

import datetime as dt
import importlib.util
import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from service.batch import write_snapshot
from service.caseload import CaseloadStore
from tests.service.factories import Registry, RunningService, build_registry, running_service

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
SNAPSHOT_DATES = (dt.date(2025, 8, 1), dt.date(2026, 2, 1), dt.date(2026, 7, 1))
OTHER_CASEWORKER = "otra-persona"
AXE_DIR = Path(os.environ.get("PREVI_AXE_DIR", Path.home() / ".cache" / "previ-axe"))
AXE_JS = AXE_DIR / "node_modules" / "axe-core" / "axe.min.js"


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "browser: drives a real headless Chromium (needs /usr/bin/chromium)")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    reason = _browser_missing()
    if reason is None:
        return
    for item in items:
        if "browser" in item.keywords:
            item.add_marker(pytest.mark.skip(reason=reason))


def _browser_missing() -> str | None:
    if not CHROMIUM.exists():
        return f"{CHROMIUM} not found: apt-get update && apt-get install -y chromium"
    if importlib.util.find_spec("playwright") is None:
        return "the playwright package is not installed: pip install -e '.[dev]'"
    return None


@dataclass
class WebService:
    """The running service, its young people by tier, and who is assigned to whom."""

    service: RunningService
    youth: dict[str, str]
    caseload: list[str]
    other_caseload: list[str]
    other_token: str
    offers: Any = None  # the allocation cycle's offers and waiting lists (a DataFrame)

    @property
    def url(self) -> str:
        return self.service.url

    def token(self, role: str) -> str:
        tokens: dict[str, str] = {**self.service.tokens, OTHER_CASEWORKER: self.other_token}
        return tokens[role]

    def audit(self, **filters: Any) -> list[dict[str, Any]]:
        self.service.state.refusals.flush()  # refusals without a valid token are counted per minute
        with self.service.client("auditor") as client:
            response = client.get("/v1/audit-log", params={"limit": 1000, **filters})
        assert response.status_code == 200, response.text
        return list(response.json()["entries"])


@pytest.fixture(scope="session")
def registry(synthetic_bundle: Path, tmp_path_factory: pytest.TempPathFactory) -> Registry:
    """The API tests' trained registry (built once per session, shared with pytest-xdist workers)."""
    shared = tmp_path_factory.getbasetemp()
    if os.environ.get("PYTEST_XDIST_WORKER"):
        shared = shared.parent
    return build_registry(shared / "service-registry", synthetic_bundle)


def evaluation_result() -> dict[str, Any]:
    """An evaluation.json as `previ evaluate --by municipality` writes it (aggregates only)."""

    def effect(n: int, value: float, low: float | None, high: float, **extra: Any) -> dict[str, Any]:
        return {
            "n_served": n,
            "n_comparison": 10 * n,
            "risk_served": 0.11,
            "risk_not_served": 0.11 / (1 - value),
            "relative_risk_reduction": {"value": value, "ci": [low, high]},
            "risk_difference": {"value": -0.02, "ci": [-0.03, -0.01]},
            "naive_relative_risk_reduction": -0.4,
            "naive_risk_difference": 0.05,
            "e_value": {"estimate": 1.8, "ci": 1.3},
            "balance_max_smd": {"before": 0.9, "after": 0.05},
            "overlap": {"trimmed_share": 0.0, "trimmed_served_share": 0.0},
            "groups": {},
            **extra,
        }

    places = {
        "Ciudad Benito Juárez": effect(1900, 0.24, 0.16, 0.31),
        "San Andrés Xoxotla": effect(1300, 0.18, 0.05, 0.29),
        "Cuautempan": effect(350, 0.05, -0.20, 0.25),
    }
    by_place = {
        "groups": places,
        "pooled_risk_difference": {"value": -0.024, "ci": [-0.031, -0.017]},
        "heterogeneity": {"cochran_q": 3.1, "df": 2, "p_value": 0.21, "i_squared": 0.35},
    }
    return {
        "goal": 0.15,
        "design": "observational",
        "source": "data/synthetic",
        "served": effect(5580, 0.21, 0.17, 0.25, groups={"municipality": by_place}),
        "programs": {
            "mentoria": effect(900, 0.19, 0.02, 0.33),
            "mediacion_restaurativa": effect(1200, 0.22, 0.10, 0.33),
            "tutoria_academica": effect(700, 0.03, None, 0.18),  # null: no lower bound (a ratio to infinity)
        },
        "notes": {"design": "served in month m versus not served then"},
    }


def _log_evaluation(registry: Registry) -> None:
    """One `previ-evaluate` run in the registry's MLflow store (once, whichever xdist worker comes first)."""
    import fcntl

    import pandas as pd

    from evaluation.report import write_evaluation

    done = registry.folder / "evaluation.done"
    with (registry.folder / "evaluation.lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not done.exists():
            balance = pd.DataFrame(columns=["covariate", "smd_before", "smd_after"])
            write_evaluation(
                evaluation_result(),
                {"served": balance},
                registry.folder / "evaluation",
                settings=registry.config(),
            )
            done.write_text("logged")


@pytest.fixture(scope="session")
def web(registry: Registry, tmp_path_factory: pytest.TempPathFactory) -> Iterator[WebService]:
    folder = tmp_path_factory.mktemp("web")
    _log_evaluation(registry)
    with running_service(registry.config(), folder) as service:
        state = service.state
        model = state.holder.current
        assert model is not None
        for as_of in SNAPSHOT_DATES:
            write_snapshot(
                registry.config(), data_dir=registry.bundle, as_of=as_of, settings=state.settings, model=model
            )
        youth = _youth_by_tier(state)
        caseload = sorted({youth["indicated"], youth["selective"], youth["universal"], youth["gone"]})
        other = sorted(set(youth["others"]) - set(caseload))[:2]
        store = _caseload(service)
        for youth_id in caseload:
            store.add(caseworker="test-caseworker", youth_id=youth_id)
        for youth_id in other:
            store.add(caseworker=OTHER_CASEWORKER, youth_id=youth_id)
        _, other_token = state.tokens.add(role="caseworker", name=OTHER_CASEWORKER)
        _seed_feedback(service, youth)
        offers = _allocate(state)
        placed = offers.groupby("status").head(1)  # the young people the allocation tests look up
        for youth_id in sorted(set(placed["youth_id"].astype(str)) - set(other) - set(caseload)):
            store.add(caseworker="test-caseworker", youth_id=youth_id)
            caseload.append(youth_id)
        caseload.sort()
        yield WebService(service, youth, caseload, other, other_token, offers)


def _allocate(state: Any) -> Any:
    """One allocation cycle over the latest snapshot, as `previ allocate` stores it."""
    from service.allocation import allocate
    from service.allocation_store import write_allocation

    latest = state.snapshots.latest()
    tables = state.snapshots.tables(latest.id)
    result = allocate(tables["scores"], tables["reasons"], tables["programs"], state.catalog)
    write_allocation(
        state.snapshots, cycle="2026-2", snapshot_id=latest.id, offers=result.offers, places=result.places
    )
    return result.offers


def _caseload(service: RunningService) -> CaseloadStore:
    from fastapi import FastAPI

    app: FastAPI = service.server.config.app
    store: CaseloadStore = app.state.previ_pages.caseload
    return store


def _youth_by_tier(state: Any) -> dict[str, Any]:
    """One young person per tier in the latest snapshot, and one who aged out of it ("gone")."""
    import pandas as pd
    from sqlalchemy import select

    from service.snapshots import scores_table

    with state.snapshots.engine.connect() as connection:
        scores = pd.read_sql(select(scores_table), connection)
    first, latest = scores["snapshot_id"].min(), scores["snapshot_id"].max()
    now = scores[scores["snapshot_id"] == latest].sort_values("youth_id")
    earlier = set(scores.loc[scores["snapshot_id"] < latest, "youth_id"])
    picked: dict[str, Any] = {}
    for tier in ("indicated", "selective", "universal"):
        candidates = now[(now["tier"] == tier) & now["youth_id"].isin(earlier)]
        in_all = candidates[
            candidates["youth_id"].isin(scores.loc[scores["snapshot_id"] == first, "youth_id"])
        ]
        picked[tier] = str((in_all if len(in_all) else candidates)["youth_id"].iloc[0])
    before = scores[scores["snapshot_id"] == latest - 1].sort_values("youth_id")
    picked["gone"] = str(before.loc[~before["youth_id"].isin(set(now["youth_id"])), "youth_id"].iloc[0])
    picked["others"] = [str(youth_id) for youth_id in now["youth_id"].iloc[-10:]]
    return picked


def _seed_feedback(service: RunningService, youth: dict[str, Any]) -> None:
    """A few decisions through the API, so that the uptake page has something to count."""
    decisions = [
        {"youth_id": youth["indicated"], "kind": "referral_made", "program": "mentoria"},
        {"youth_id": youth["selective"], "kind": "referral_declined", "program": "mentoria"},
        {
            "youth_id": youth["universal"],
            "kind": "tier_overridden",
            "tier": "selective",
            "reason": "seguimiento",
        },
    ]
    with service.client("caseworker") as client:
        for body in decisions:
            response = client.post("/v1/feedback", json=body)
            assert response.status_code == 201, response.text


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(
            executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, headless=True
        )
        yield chromium
        chromium.close()


@pytest.fixture
def context(browser: Any, web: WebService) -> Iterator[Any]:
    """A fresh browser profile (no cookies) at desktop width, Spanish-speaking, pointed at the service."""
    context = browser.new_context(base_url=web.url, locale="es-MX", viewport={"width": 1280, "height": 900})
    context.set_default_timeout(10_000)
    yield context
    context.close()


@pytest.fixture
def axe_js() -> Path:
    if not AXE_JS.exists():
        pytest.skip(f"axe-core not found at {AXE_JS}: npm install --prefix {AXE_DIR} axe-core@4")
    return AXE_JS


def login(context: Any, web: WebService, role: str) -> Any:
    """Sign in through the login form; return the page, now on the role's home page."""
    page = context.new_page()
    page.goto("/login")
    page.fill("#token", web.token(role))
    page.click("button[type=submit]")
    page.wait_for_load_state()
    return page
