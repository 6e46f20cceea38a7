"""previ.yaml: one config file, validated whole before any work starts.

Every section is a frozen pydantic model that forbids unknown keys, so a typo
such as ``horizon_day`` is one clear error naming the key instead of a silently
ignored setting. Every field has a documented default: an empty file (or no file
at all) is the embedded default that the README's main command runs.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Annotated, Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from previ.errors import PreviError

DEFAULT_CONFIG_PATH = Path("previ.yaml")


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class DataConfig(_Section):
    """Where the data bundle lives and which of its columns are audit-only."""

    dir: Path = Field(Path("data/synthetic"), description="Folder of the data bundle.")
    audit_columns: tuple[str, ...] = Field(
        ("indigenous", "disability"),
        description="Columns of `youth` used only by fairness audits, never as features.",
    )
    extraction_date: dt.date | None = Field(
        None,
        description="Date the bundle was extracted; events after it are errors. "
        "Default: the bundle's manifest.json, else today.",
    )


class SynthConfig(_Section):
    """Defaults of `previ synth` (each one can be overridden on the command line)."""

    youth: Annotated[int, Field(gt=0)] = 20_000
    years: Annotated[int, Field(ge=1, le=10)] = 5
    seed: int = 42
    start_year: Annotated[int, Field(ge=2000, le=2100)] = 2021
    bias_municipality: str | None = Field(
        None, description="Record justice contacts more often in this municipality."
    )
    bias_group: str | None = Field(
        None, description="Record justice contacts more often for youth with this audit flag set."
    )
    bias_rate: Annotated[float, Field(ge=1.0, le=10.0)] = Field(
        2.0, description="How many times more often justice contacts are recorded for the biased group."
    )
    drop_tables: tuple[str, ...] = Field((), description="Optional tables to leave out of the bundle.")
    program_effects: str = Field(
        "default",
        description="True programme effects: default, none, or a YAML file (see synthetic/_effects.py).",
    )
    allocation: Literal["referral", "rank"] = Field(
        "referral",
        description="How young people get places: one by one on referral, or each month by rank within "
        "capacity (with allocation.lottery_band around the cut-off, if set; see synthetic/_allocation.py).",
    )
    places_share: Annotated[float, Field(gt=0.0, le=0.5)] = Field(
        0.012,
        description="allocation rank: places offered each month, as a share of those ranked.",
    )


class OutcomeConfig(_Section):
    """Which events count as the adverse outcome that prevention tries to avert."""

    justice_kinds: tuple[str, ...] = ("detention", "probation_start")
    violence_infraction: bool = Field(True, description="A civic infraction for violence counts.")
    school_exit_reasons: tuple[str, ...] = ("dropped_out",)


class FeaturesConfig(_Section):
    """Point-in-time feature matrix: as_of dates, label horizon and population."""

    as_of: tuple[dt.date, ...] = Field(
        (),
        description="As-of dates. Empty: every six months from one year after the bundle "
        "starts until one horizon before it ends.",
    )
    horizon_days: Annotated[int, Field(gt=0, le=1830)] = 365
    min_age: Annotated[int, Field(ge=0)] = 11
    max_age: Annotated[int, Field(ge=0)] = 19
    outcome: OutcomeConfig = OutcomeConfig()

    @field_validator("as_of")
    @classmethod
    def _sorted_unique(cls, value: tuple[dt.date, ...]) -> tuple[dt.date, ...]:
        return tuple(sorted(set(value)))


class TiersConfig(_Section):
    """Prevention tiers as shares of the scored population (public-health model).

    The top ``indicated`` share gets individual follow-up, the next shares up to
    ``selective`` group programmes; everyone else is ``universal``. The cut-offs
    are turned into calibrated probabilities on the test fold and recorded in
    the model.
    """

    indicated: Annotated[float, Field(gt=0, lt=1)] = 0.05
    selective: Annotated[float, Field(gt=0, lt=1)] = 0.20

    @field_validator("selective")
    @classmethod
    def _selective_wider(cls, value: float, info: Any) -> float:
        indicated = info.data.get("indicated")
        if indicated is not None and value <= indicated:
            raise ValueError(f"must be larger than indicated ({indicated})")
        return value


class TrainingConfig(_Section):
    """`previ train`: model grid, capacity, evaluation and the MLflow registry."""

    models: tuple[Literal["abc_rule", "one_feature", "logistic", "glassbox", "lightgbm"], ...] = (
        "abc_rule",
        "one_feature",
        "logistic",
        "glassbox",
        "lightgbm",
    )
    champion_candidate: Literal["glassbox", "lightgbm", "logistic"] = "glassbox"
    k: Annotated[float, Field(gt=0)] = Field(
        0.10, description="Programme capacity: a share of the population (< 1) or a count (>= 1)."
    )
    seed: int = 42
    resamples: Annotated[int, Field(ge=0, le=10_000)] = 1000
    threads: Annotated[int, Field(ge=0)] = Field(
        1,
        description="Threads of LightGBM (training) and of the boosted trees of `previ evaluate` (0: all "
        "cores). One thread is deterministic across machines, and on a shared machine often faster.",
    )
    out: Path = Field(Path("runs/latest"), description="Folder for metrics.json, plots and the model card.")
    tracking_uri: str | None = Field(
        None, description="MLflow tracking URI; default sqlite:///mlflow.db (MLFLOW_TRACKING_URI overrides)."
    )
    experiment: str = "previ"
    registered_model: str = "previ-risk"
    quality_tolerance: Annotated[float, Field(ge=0, le=0.2)] = Field(
        0.01, description="Promotion: a challenger may trail the champion's test ROC AUC by at most this."
    )
    tiers: TiersConfig = TiersConfig()
    proxy_auc: Annotated[float, Field(gt=0.5, le=1)] = Field(
        0.8,
        description="A feature that alone predicts a protected column with ROC AUC at or above this is "
        "left out as a proxy (numeric features).",
    )
    proxy_cramers_v: Annotated[float, Field(gt=0, le=1)] = Field(
        0.5, description="The same screen for category features: Cramér's V at or above this."
    )
    allow_features: tuple[str, ...] = Field(
        (), description="Features kept even when the proxy screen flags them; the model card records each."
    )
    proxy_exempt: tuple[str, ...] = Field(
        ("age_band",),
        description="Protected columns not screened for proxies: age band derives from age, which stays a "
        "feature as a developmental factor (needs change with age); age band is still audited.",
    )

    @field_validator("models")
    @classmethod
    def _some_model(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        if not value:
            raise ValueError("list at least one model")
        return tuple(dict.fromkeys(value))


class AuditConfig(_Section):
    """Fairness audits run by `previ train` on the test fold (and defaults of `previ audit`).

    The gate asks whether the score means the same for every group: calibration
    (in the large and slope), discrimination against the whole population, and
    recall at capacity no worse than the current champion's.
    """

    groups: tuple[str, ...] = Field(
        (), description="Audit columns to use; empty: every audit column of the data (and their pairs)."
    )
    reference: dict[str, str] = Field(
        default_factory=dict,
        description="Compare the reported disparities of a column with one of its groups, e.g. "
        "{municipality: Villa Zaragoza}; default: the whole population. The gate always uses the population.",
    )
    tolerance: tuple[float, float] = (0.8, 1.25)
    discrimination_floor: Annotated[float, Field(gt=0, lt=1)] = Field(
        0.8,
        description="Gate: a group's discrimination above chance, (AUC - 0.5) / (pooled within-group "
        "AUC of its column - 0.5), may not be below this.",
    )
    min_n: Annotated[int, Field(ge=1)] = 30
    min_positives: Annotated[int, Field(ge=1)] = 5
    max_ece: Annotated[float, Field(gt=0, le=1)] = Field(
        0.1, description="Reported beside each group's ECE (ECE does not gate)."
    )
    false_discovery_rate: Annotated[float, Field(gt=0, lt=1)] = Field(
        0.05,
        description="A gate check is flagged when its Benjamini-Hochberg adjusted p-value is below this.",
    )
    resamples: Annotated[int, Field(ge=100, le=10_000)] = 1000

    @field_validator("tolerance")
    @classmethod
    def _band(cls, value: tuple[float, float]) -> tuple[float, float]:
        low, high = value
        if not 0 < low < 1 < high:
            raise ValueError("must be (low, high) with 0 < low < 1 < high")
        return value


class LotteryBandConfig(_Section):
    """A lottery among the young people ranked just around the capacity cut-off.

    With ``K`` places and ``m = round(width x K)``, the top ``K - m`` get a
    place, the ``2 m`` ranked next draw lots for the last ``m`` (an even chance
    each) and nobody below gets one. Among people of nearly equal priority this
    costs little in need served and gives the strongest evidence of effect
    (``previ evaluate --design lottery``).
    """

    width: Annotated[float, Field(gt=0.0, le=1.0)] = Field(
        0.25, description="Half-width of the band, as a share of the places (0.25: a quarter of them)."
    )
    seed: int = Field(0, description="Seed of the draws; logged with every draw.")


class AllocationConfig(_Section):
    """How scarce places are shared between groups (a programme manager's decision), and `previ allocate`.

    ``need`` gives places to the highest calibrated probabilities;
    ``equal_recall`` sets one cut-off per group (the cells of ``groups``) so that
    every group expects the same share of its young people in need to be
    reached. The choice is recorded on the model version, shown on the
    fairness page, and used by `previ allocate` and `previ evaluate`.
    """

    policy: Literal["need", "equal_recall"] = "need"
    groups: tuple[str, ...] = Field(
        (),
        description="Audit columns to equalise recall across (equal_recall only), e.g. [sex, municipality].",
    )
    per_person: Annotated[int, Field(ge=1, le=10)] = Field(
        1, description="`previ allocate`: new programmes offered to one young person per cycle."
    )
    out: Path = Field(
        Path("allocations"),
        description="`previ allocate`: folder for the Parquet file of each cycle (when --out is not given).",
    )
    lottery_band: LotteryBandConfig | None = Field(
        None,
        description="A lottery among those ranked around the cut-off (width, seed); none when unset. "
        "Used by `previ allocate` and by `previ synth` with synth.allocation rank.",
    )

    @model_validator(mode="after")
    def _groups_given(self) -> AllocationConfig:
        if self.policy == "equal_recall" and not self.groups:
            raise ValueError("allocation.groups: equal_recall needs the group columns to equalise across")
        return self


class ServiceConfig(_Section):
    """`previ serve` and `previ score`: the scoring service, its stores and its guard rails.

    Every value can also come from the environment as ``PREVI_<KEY>`` (e.g.
    ``PREVI_AUDIT_URL``), which wins over this file; the pseudonymisation key is
    read only from ``PREVI_PSEUDONYM_KEY`` or ``pseudonym_key_file``, never from here.
    Relative paths are relative to the working directory, like ``training.out``.
    """

    host: str = Field("127.0.0.1", description="Address `previ serve` listens on (loopback by default).")
    port: Annotated[int, Field(ge=1, le=65535)] = 8000
    model_path: Path | None = Field(
        None,
        description="Serve this scoring artifact (a training run folder or its scoring_model/) instead of "
        "the registry's 'champion'; for machines without the MLflow store.",
    )
    model_sha256: str | None = Field(
        None,
        pattern="^[0-9a-f]{64}$",
        description="With model_path: refuse an artifact whose manifest.json has another SHA-256 "
        "(the scoring_sha256 that metrics.json and the registry record).",
    )
    tokens_file: Path = Field(
        Path("tokens.json"),
        description="A token file of earlier versions: `previ db upgrade` moves its tokens into the service "
        "database (where `previ tokens add` keeps them) and renames it tokens.json.imported.",
    )
    pseudonym_key_file: Path = Field(
        Path("pseudonym.key"),
        description="Secret key of the audit log's keyed hash of youth ids; created on first use. "
        "Keep it: a new key makes earlier log entries unmatchable.",
    )
    audit_url: str = Field(
        "sqlite:///audit.db",
        description="SQLAlchemy URL of the service database: audit log, feedback, tokens, caseloads, web "
        "sessions, rate counts, served model (PostgreSQL: postgresql+psycopg://USER@HOST:5432/DB).",
    )
    audit_fsync: bool = Field(
        True,
        description="SQLite audit log: fsync every commit, so it survives a power cut; false saves the "
        "fsync and still survives a crash of the service, not of the machine.",
    )
    audit_group_commit: bool = Field(
        True,
        description="Concurrent requests' audit rows share one transaction and one fsync; each response "
        "still waits until its own row is durable. false: one commit per request.",
    )
    workers: Annotated[int, Field(ge=1, le=64)] = Field(
        1,
        description="Worker processes of `previ serve` (or --workers); they share every store through "
        "audit_url and snapshot_url (SQLite on one disk works; PostgreSQL serves many workers better).",
    )
    reload_poll_seconds: Annotated[float, Field(ge=0.1, le=3600)] = Field(
        2.0,
        description="How often each worker checks the served_model row, and loads the model another "
        "worker's reload named there.",
    )
    snapshot_dir: Path = Field(Path("snapshots"), description="Parquet files of `previ score` snapshots.")
    snapshot_url: str | None = Field(
        None, description="SQLAlchemy URL of the snapshot tables; default: SQLite in snapshot_dir."
    )
    catalog: Path | None = Field(
        None, description="Programme catalog YAML; default: the one shipped in service/catalog/default.yaml."
    )
    purposes: tuple[str, ...] = Field(
        ("referral_planning", "case_review", "program_evaluation"),
        description="Purposes a scoring request may state; punitive ones are refused even if listed.",
    )
    max_body_bytes: Annotated[int, Field(ge=1024, le=64 * 1024 * 1024)] = Field(
        1024 * 1024, description="Larger request bodies get 413."
    )
    top_reasons: Annotated[int, Field(ge=1, le=10)] = Field(
        3, description="Reasons and protective factors returned per score."
    )
    max_referrals: Annotated[int, Field(ge=0, le=10)] = Field(
        3, description="Programme suggestions returned per score."
    )
    pages_accept_language: bool = Field(
        False,
        description="Web pages follow the browser's Accept-Language until the reader picks a language with "
        "the link; default: pages open in `language` (the API always reads Accept-Language).",
    )
    audit_key_file: Path = Field(
        Path("audit.key"),
        description="Secret key of the audit log's hash chain (or PREVI_AUDIT_KEY); created on first use. "
        "`previ audit-log verify` needs the same key.",
    )
    session_key_file: Path = Field(
        Path("session.key"),
        description="Key that signs web session cookies (or PREVI_SESSION_KEY); share it between workers.",
    )
    out_of_caseload: bool = Field(
        False,
        description="Let caseworkers read a score outside their caseload when they state a justification "
        "(logged, limited per day, listed for the auditor).",
    )
    out_of_caseload_per_day: Annotated[int, Field(ge=0, le=1000)] = Field(
        10, description="Look-ups outside the caseload allowed per token per day (UTC)."
    )
    alert_youth_per_hour: Annotated[int, Field(ge=1)] = Field(
        50, description="The auditor's page flags a token that read more distinct young people in an hour."
    )
    rate_limit_api: str = Field(
        "120/minute", description="Requests per token and per client address on /v1 (limits syntax)."
    )
    rate_limit_login: str = Field(
        "10/minute", description="Login attempts per client address (limits syntax)."
    )
    rate_limit_storage: str = Field(
        "sql",
        description="Where rate counts live: sql (the service database, shared by every worker; on SQLite "
        "a -rates file beside it), memory:// (per worker), or another limits storage URI (redis://...).",
    )
    lockout_failures: Annotated[int, Field(ge=1)] = Field(
        5, description="Failed attempts with one token id that lock the token for lockout_minutes."
    )
    lockout_minutes: Annotated[int, Field(ge=1)] = Field(
        15, description="How long a locked token stays locked."
    )
    retention_days: Annotated[int, Field(ge=1)] | None = Field(
        None,
        description="Snapshots and feedback older than this many days are deleted at service start and by "
        "`previ purge`; null keeps them.",
    )


class PreviConfig(_Section):
    """The whole previ.yaml."""

    data: DataConfig = DataConfig()
    synth: SynthConfig = SynthConfig()
    features: FeaturesConfig = FeaturesConfig()
    training: TrainingConfig = TrainingConfig()
    audit: AuditConfig = AuditConfig()
    allocation: AllocationConfig = AllocationConfig()
    service: ServiceConfig = ServiceConfig()
    language: Literal["es", "en"] = "es"


def load_config(path: Path | None = None) -> PreviConfig:
    """Read and validate previ.yaml.

    ``path=None`` reads ./previ.yaml when it exists and otherwise returns the
    embedded defaults. A path that was asked for but does not exist, malformed
    YAML or an invalid key all raise :class:`PreviError` naming the problem.
    """
    if path is None:
        if not DEFAULT_CONFIG_PATH.exists():
            return PreviConfig()
        path = DEFAULT_CONFIG_PATH
    if not path.exists():
        raise PreviError(
            f"config: file {path.absolute()} does not exist; leave out --config for the embedded defaults, "
            "or copy previ.example.yaml to previ.yaml and edit it"
        )
    try:
        raw: Any = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as error:
        raise PreviError(f"config: {path} is not valid YAML ({error.__class__.__name__})") from error
    if raw is None:
        raw = {}
    if not isinstance(raw, dict):
        raise PreviError(f"config: {path} must hold a mapping of sections, not {type(raw).__name__}")
    return parse_config(raw, source=str(path))


def parse_config(raw: dict[str, Any], *, source: str = "config") -> PreviConfig:
    """Validate a mapping as a :class:`PreviConfig`, one error line per bad key."""
    try:
        return PreviConfig.model_validate(raw)
    except ValidationError as error:
        raise PreviError(*(_describe(source, item) for item in error.errors())) from error


def _describe(source: str, item: Any) -> str:
    location = ".".join(str(part) for part in item["loc"])
    if item["type"] == "extra_forbidden":
        return f"{source}: unknown key '{location}'"
    return f"{source}: '{location}' {item['msg'].lower()} (got {item.get('input')!r})"


def example_yaml() -> str:
    """previ.example.yaml: every key with its default and its description, generated from the models."""
    lines = [
        "# previ.yaml: every key with its default. Generated by previ.config.example_yaml(); a test keeps",
        "# this file in step with the code. Copy it to previ.yaml and change what you need.",
    ]
    _describe_section(PreviConfig(), lines, indent=0)
    return "\n".join(lines) + "\n"


def _describe_section(section: BaseModel, lines: list[str], *, indent: int) -> None:
    pad = "  " * indent
    for name, info in type(section).model_fields.items():
        value = getattr(section, name)
        if isinstance(value, BaseModel):
            doc = (type(value).__doc__ or "").strip().splitlines()[0]
            lines += ["", f"{pad}# {doc}", f"{pad}{name}:"]
            _describe_section(value, lines, indent=indent + 1)
            continue
        if info.description:
            lines.append(f"{pad}# {info.description}")
        dumped = yaml.safe_dump(
            {name: _plain_value(value)}, allow_unicode=True, default_flow_style=True, width=200
        )
        lines.append(pad + dumped.strip().removeprefix("{").removesuffix("}"))


def _plain_value(value: Any) -> Any:
    if isinstance(value, tuple | list):
        return [_plain_value(item) for item in value]
    if isinstance(value, dict):
        return {key: _plain_value(item) for key, item in value.items()}
    if isinstance(value, Path):
        return str(value)
    if isinstance(value, dt.date):
        return value.isoformat()
    return value
