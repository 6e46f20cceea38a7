"""`previ score`: score everyone of programme age at one as_of into a snapshot.

The bundle is loaded once and turned into the point-in-time matrix
(:func:`features.build.build_features`, what ``matrix_from_bundle`` does; the
programmes table is also needed here, for the enrolments that referrals skip).
Scores and reasons come from :func:`service.scoring.score_rows` over the whole
population at once, the same path the API uses for one person. The snapshot is
written as Parquet under ``service.snapshot_dir`` and into the snapshot tables
in one transaction; earlier snapshots stay. A run that would repeat the newest
snapshot exactly (same as_of, same model artifact, same bundle files and
feature settings: see :func:`data_fingerprint`) reuses it instead of adding a copy.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import shutil
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from features.build import build_features
from features.load import Bundle, load_bundle
from previ.atomic import atomic_dir
from previ.config import PreviConfig
from previ.errors import PreviError
from service.model_store import LoadedModel, load_model
from service.scoring import ScoredRows, score_rows
from service.settings import ServiceSettings, service_settings
from service.snapshots import SnapshotStore, snapshot_store

__all__ = [
    "PopulationScorer",
    "ScoredPopulation",
    "SnapshotSummary",
    "enrolments_at",
    "score_bundle",
    "score_population",
    "snapshot_store",
    "write_snapshot",
]

NOT_BUNDLE_MODEL = (
    "score: the served model uses features a data bundle does not give ({names}); "
    "previ score needs a model trained on a bundle"
)


@dataclass(frozen=True)
class ScoredPopulation:
    """One population's scores (percentile not yet set), reasons and enrolments, rows by youth_id."""

    scores: pd.DataFrame
    reasons: pd.DataFrame
    programs: pd.DataFrame


PopulationScorer = Callable[[Path, dt.date, PreviConfig, LoadedModel, int], ScoredPopulation | None]
"""(data_dir, as_of, config, model, top_reasons) -> the population's scores, None when nobody."""


@dataclass(frozen=True)
class SnapshotSummary:
    snapshot_id: int
    as_of: dt.date
    model_version: str
    rows: int
    tiers: dict[str, int]
    folder: Path
    seconds: dict[str, float] = field(default_factory=dict)
    reused: bool = False


def write_snapshot(
    config: PreviConfig,
    *,
    data_dir: Path,
    as_of: dt.date,
    settings: ServiceSettings | None = None,
    model: LoadedModel | None = None,
    scorer: PopulationScorer | None = None,
) -> SnapshotSummary:
    """Score the bundle's population at ``as_of`` with the served model and store the snapshot.

    ``scorer`` computes the population's scores (default :func:`score_bundle`,
    in this process; the Dask engine passes one that scores bucket by bucket).
    Percentiles are ranks in the whole population, so they are computed here.
    """
    settings = settings or service_settings(config)
    clock = _Clock()
    model = model or load_model(config, settings)
    clock.lap("model")
    fingerprint = data_fingerprint(data_dir, config)
    same = _identical(snapshot_store(settings), as_of, (model.version, model.sha256), fingerprint)
    if same is not None:
        return same
    population = (scorer or score_bundle)(data_dir, as_of, config, model, settings.top_reasons)
    if population is None:
        raise PreviError(f"score: nobody of programme age in {data_dir} at {as_of}")
    scores, reasons, programs = population.scores, population.reasons, population.programs
    probability = scores["probability"].to_numpy()
    ranked = np.sort(probability)
    percentile = 100.0 * np.searchsorted(ranked, probability, side="right") / len(ranked)
    scores.insert(list(scores.columns).index("probability") + 1, "percentile", percentile)
    clock.lap("features and scoring")
    created = dt.datetime.now(dt.UTC)
    folder = Path(settings.snapshot_dir) / f"{as_of:%Y-%m-%d}_{created:%Y%m%dT%H%M%S%fZ}_v{model.version}"

    meta = {
        "as_of": str(as_of),
        "created_at": created.isoformat(),
        "model_version": model.version,
        "model_sha256": model.sha256,
        "data_sha256": fingerprint,
        "rows": len(scores),
    }
    tables = {"scores": scores, "reasons": reasons, "programs": programs}

    try:
        snapshot_id = snapshot_store(settings).write(
            as_of=as_of,
            model_version=model.version,
            model_sha256=model.sha256,
            folder=str(folder),
            quantiles=np.quantile(probability, np.linspace(0, 1, 1001)),
            scores=scores,
            reasons=reasons,
            programs=programs,
            before_commit=lambda snapshot_id: _write_parquet(
                folder, tables, {**meta, "snapshot_id": snapshot_id}
            ),
        )
    except Exception:
        shutil.rmtree(folder, ignore_errors=True)
        raise
    clock.lap("writing")
    tiers = scores["tier"].value_counts()
    return SnapshotSummary(
        snapshot_id=snapshot_id,
        as_of=as_of,
        model_version=model.version,
        rows=len(scores),
        tiers={tier: int(tiers.get(tier, 0)) for tier in ("indicated", "selective", "universal")},
        folder=folder,
        seconds=clock.laps,
    )


def score_bundle(
    data_dir: Path, as_of: dt.date, config: PreviConfig, model: LoadedModel, top_reasons: int
) -> ScoredPopulation | None:
    """Load the bundle in ``data_dir`` and score its population (the default scorer)."""
    bundle = load_bundle(
        data_dir, audit_columns=config.data.audit_columns, extraction_date=config.data.extraction_date
    )
    return score_population(bundle, as_of, config, model, top_reasons)


def score_population(
    bundle: Bundle, as_of: dt.date, config: PreviConfig, model: LoadedModel, top_reasons: int
) -> ScoredPopulation | None:
    """Scores, reasons and enrolments of everyone of programme age at ``as_of`` (None: nobody).

    Rows follow the matrix order (youth_id); nothing here depends on people
    outside ``bundle``, so parts of a bundle split by young person can be scored apart.
    """
    matrix = build_features(bundle, [as_of], config.features)
    frame = matrix.frame
    names = model.scoring.feature_names
    absent = [name for name in names if name not in frame.columns]
    if absent:
        raise PreviError(NOT_BUNDLE_MODEL.format(names=", ".join(absent[:5])))
    if frame.empty:
        return None
    values = frame[names].astype("float64")
    scored = score_rows(model.scoring, values)
    ids = frame["youth_id"].astype(str).to_numpy()
    scores = pd.DataFrame(
        {
            "youth_id": ids,
            "municipality": frame["municipality"].astype(str).to_numpy(),
            "age": frame["age"].to_numpy(dtype=np.int64),
            "probability": scored.probability,
            "tier": scored.tier.astype(str),
        }
    )
    reasons = _reasons(scored.reasons("es", top=top_reasons).table, scored, ids, top_reasons)
    programs = enrolments_at(bundle.tables.get("programs"), as_of, population=set(ids))
    return ScoredPopulation(scores, reasons, programs)


def data_fingerprint(data_dir: Path, config: PreviConfig) -> str:
    """SHA-256 of what a snapshot's features come from: the bundle's files and the settings reading them."""
    digest = hashlib.sha256()
    settings = {
        "features": config.features.model_dump(mode="json"),
        "audit_columns": list(config.data.audit_columns),
        "extraction_date": str(config.data.extraction_date),
    }
    digest.update(json.dumps(settings, sort_keys=True).encode())
    for path in sorted(Path(data_dir).rglob("*")):
        if path.is_file():
            digest.update(str(path.relative_to(data_dir)).encode() + b"\0")
            with path.open("rb") as handle:
                for block in iter(lambda: handle.read(1 << 20), b""):
                    digest.update(block)
    return digest.hexdigest()


def _identical(
    store: SnapshotStore, as_of: dt.date, model: tuple[str, str], data_sha256: str
) -> SnapshotSummary | None:
    """The newest snapshot of ``as_of`` when it was made by this model (version and SHA-256) from these
    data, else None. The version counts too: the same artifact promoted as a new version gets its own
    snapshot, so what a caseworker reads names the champion, not the version it was first registered as."""
    latest = store.for_date(as_of)
    if latest is None or (latest.model_version, latest.model_sha256) != model:
        return None
    try:
        meta = json.loads((Path(latest.folder) / "snapshot.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if meta.get("data_sha256") != data_sha256:
        return None
    tiers = store.tier_counts(latest.id)
    return SnapshotSummary(
        snapshot_id=latest.id,
        as_of=latest.as_of,
        model_version=latest.model_version,
        rows=latest.rows,
        tiers={tier: tiers.get(tier, 0) for tier in ("indicated", "selective", "universal")},
        folder=Path(latest.folder),
        reused=True,
    )


def _write_parquet(folder: Path, tables: dict[str, pd.DataFrame], meta: dict[str, object]) -> None:
    """The snapshot's Parquet files and snapshot.json, all or nothing."""
    with atomic_dir(folder) as temporary:
        for name, table in tables.items():
            table.to_parquet(temporary / f"{name}.parquet", index=False)
        (temporary / "snapshot.json").write_text(json.dumps(meta, indent=2), encoding="utf-8")
        for written in temporary.iterdir():  # personal data: the owner's only, whatever the umask
            written.chmod(0o600)


def enrolments_at(programs: pd.DataFrame | None, as_of: dt.date, *, population: set[str]) -> pd.DataFrame:
    """Each young person's programmes as they stood at ``as_of`` (youth_id, program, status).

    As in the programme features: an enrolment that started before as_of and had
    not ended by then is active; one that ended before keeps its final status.
    Of several enrolments in one programme, active beats completed beats dropped.
    """
    columns = ["youth_id", "program", "status"]
    if programs is None or programs.empty:
        return pd.DataFrame({column: pd.Series(dtype=object) for column in columns})
    day = pd.Timestamp(as_of)
    start = pd.to_datetime(programs["start_date"])
    end = pd.to_datetime(programs["end_date"])
    started = (start < day).to_numpy()
    ended = (end < day).fillna(False).to_numpy(dtype=bool)
    status = np.where(ended, programs["status"].astype(str).to_numpy(), "active")
    table = pd.DataFrame(
        {
            "youth_id": programs["youth_id"].astype(str).to_numpy(),
            "program": programs["program"].astype(str).to_numpy(),
            "status": status,
        }
    )[started]
    table = table[
        table["youth_id"].isin(population) & table["status"].isin(["active", "completed", "dropped"])
    ]
    priority = table["status"].map({"active": 0, "completed": 1, "dropped": 2})
    table = table.assign(priority=priority).sort_values(["youth_id", "program", "priority"], kind="stable")
    return table.drop_duplicates(["youth_id", "program"])[columns].reset_index(drop=True)


def _reasons(table_es: pd.DataFrame, scored: ScoredRows, ids: np.ndarray, top: int) -> pd.DataFrame:
    """The long reason table with both languages' sentences (same selection) and tags as text."""
    table_en = scored.reasons("en", top=top).table
    tags = {name: ",".join(feature.referral_tags) for name, feature in scored.registry.items()}
    return pd.DataFrame(
        {
            "youth_id": ids[table_es["row"].to_numpy()],
            "direction": table_es["direction"].astype(str).to_numpy(),
            "rank": table_es["rank"].to_numpy(dtype=np.int64),
            "feature": table_es["feature"].astype(str).to_numpy(),
            "value": pd.to_numeric(table_es["value"], errors="coerce").to_numpy(dtype=float),
            "contribution": table_es["contribution"].to_numpy(dtype=float),
            "factor": table_es["factor"].to_numpy(dtype=object),
            "referral_tags": table_es["feature"].map(tags).fillna("").to_numpy(dtype=object),
            "sentence_es": table_es["sentence"].to_numpy(dtype=object),
            "sentence_en": table_en["sentence"].to_numpy(dtype=object),
        }
    )


class _Clock:
    def __init__(self) -> None:
        self.laps: dict[str, float] = {}
        self._last = time.perf_counter()

    def lap(self, name: str) -> None:
        now = time.perf_counter()
        self.laps[name] = round(now - self._last, 3)
        self._last = now
