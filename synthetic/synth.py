"""A synthetic data bundle with a known truth, for development, tests and demonstrations.

:func:`synthesize` writes a folder in the format of DESIGN.md ("The data
bundle"): the seven tables of :mod:`features.schemas` (``youth`` with the
audit-only columns ``indigenous`` and ``disability``), ``manifest.json`` and a
side file ``truth`` that no real bundle has: each young person's true
probability of an adverse outcome, true main driver and latent need at every
default as_of. The same seed gives the same bytes.

The generative model
--------------------
**Setting.** Six fictional municipalities of skewed size (34% of the youth
down to 6%), indigenous prevalence from 7% to 40% (about 14% overall),
disability 5%. Young people start secundaria (grade 7) in August at 11-12, or
a year later after repeating a primaria grade, in cohorts from five years
before the start to the last simulated year, so about six grades are at school
at any time; those still at school graduate from bachillerato (grade 12) on 15
July at 17-19. The simulation runs month by month from 1 August of
``start_year`` for ``years`` x 12 months; the extraction date is its last day.
The school calendar approximates SEP's (classes from late August to mid July,
winter break, Semana Santa); grades come on the last school day of November,
March and July. Only months are looped over; every step is vectorised over
all young people.

**The need.** Each young person followed (entered secundaria, not graduated
or transferred) has a latent need for support::

    need_i(m) = b_i - 0.04 (a_i(m) - 16.5)^2 + sum_k C_ik(m) + e_i(m)

* ``b_i``, the stable baseline: a municipality offset (-0.06 to +0.06), +0.10
  for boys and an unrecorded N(0, 0.07). Neither ``indigenous`` nor
  ``disability`` enters the need or the behaviour (except more excused
  absences with a disability): group differences in the justice records come
  only from recording bias (below).
* ``a_i(m)``, the age in whole years: the need peaks at 16-17.
* ``C_ik``, one component per factor, fed by that factor's events of the month
  before (x_k; incidents, substance and civic events count up to 3 a month)
  and decaying geometrically, ``C_k(m) = rho_k C_k(m-1) + beta_k x_k(m-1)``:

  ====================  ==============================================  =====  =====
  component             x_k: events of the month                        rho    beta
  ====================  ==============================================  =====  =====
  unexcused_absences    unexcused absent days                           0.70   +0.05
  falling_grades        subjects failed at a term end                   0.85   +0.18
  school_incidents      school incidents other than substance           0.88   +0.45
  substance             substance incidents and substance infractions   0.90   +0.60
  civic_infractions     civic infractions, violent ones included; a     0.90   +0.60
                        detention counts 1.5
  probation             1 for a month on probation                      0.60   +0.35
  program_dropout       1 when a programme is dropped                   0.90   +0.50
  program_completion    1 when a programme is completed (protective)    0.96   -0.45
  steady_attendance     1 for a month of 8+ school days without an      0.85   -0.04
                        unexcused absence (protective)
  ====================  ==============================================  =====  =====

  Components start at zero on 1 August of ``start_year``: the records are the
  whole history, so the need is a function of the recorded history plus the
  small unrecorded parts (baseline noise, sex, municipality and ``e_i``).
* ``e_i(m)``, transient unrecorded noise: AR(1), persistence 0.5, standard
  deviation 0.08.

The **true main driver** is the risk component (first seven rows) with the
largest value, or ``none`` when none reaches 0.05; the protective components
are never a main driver.

**Events from the need.** With s(x) = 1 / (1 + exp(-x)) and per-person
tendencies t ~ N(0, 0.45) (boys +0.4 for incidents, +0.2 substance, +0.5 civic)
that make one person's need show as absences, another's as incidents or
infractions. Every rate has a ceiling, so the feedback of events on the need
cannot run away:

* attendance, a row per month at school: unexcused days ~ Poisson(school days
  x 0.5 s(-3.0 + 0.7 need + t_abs)), at most the school days; each other day
  is excused with probability 2.5% (5% with a disability) and each day present
  is late with probability s(-3.2 + 0.5 need).
* grades, 6 subjects at each term end: ability N(8, 0.75) + subject offset -
  0.4 need + N(0, 0.9); whole grades from 5 to 10 in secundaria, one decimal
  from 0 to 10 in bachillerato; ``passed = grade >= 6``.
* school incidents ~ Poisson(0.8 s(-3.4 + 0.6 need + t_inc) x days / 20)
  (fight, bullying, vandalism, weapon, other; severity by category;
  suspension 0 days at severity 1, 0-2 at 2, 2-5 at 3); substance incidents
  at school ~ Poisson(0.4 s(-4.7 + 0.6 need + t_sub) x days / 20) and
  substance infractions ~ Poisson(0.2 s(-4.4 + 0.6 need + t_sub) x r), fed
  together into the substance component; minor civic infractions (property,
  public order, other) ~ Poisson(0.3 s(-4.0 + 0.6 need + t_civ) x r), with r =
  (age - 11) / 5 in [0.2, 1]; dispositions warning, mediation, community
  service or fine.
* programmes: enrolment depends on observed need, never on the latent one.
  Someone followed and not in one is referred with probability 0.002 + 0.15
  s(-2.85 + 1.3 x the need on record), where the need on record sums a score
  per risk factor read from the records that the feature registry counts at
  the first day of the month (unexcused absences and school incidents of the
  last 3 months, substance incidents and civic infractions of the last 12,
  failed subjects of the latest term, probation, programmes dropped; see
  :mod:`synthetic._observed`), to a programme chosen by the main driver on
  record, the largest of those scores (tutoria_academica for grades,
  prevencion_adicciones for substance, mediacion_restaurativa for incidents and
  infractions, reinsercion_escolar for half of those out of school,
  deporte_y_cultura or mentoria without a driver...). Programmes last 2-6
  months; each month after the first is dropped with probability s(-3.3 + 0.7
  need); sessions attended ~ Binomial(offered, s(2.2 - 0.7 need)). A
  programme running at extraction is ``active`` with a blank end date.
* transfers out of the municipality (0.15% a month, 1% in July) and graduation
  end the follow-up: no record of any kind comes after them.

**The adverse outcome.** Each month someone followed has an adverse outcome
with probability h = 0.25 s(-3.45 + 1.7 need) (the ceiling bounds the feedback
of outcomes on the need). It is dropping out of school (48%), a civic
infraction for violence (36%), a detention (8%) or a probation start (8%; 6-12
months, then a ``probation_end``; a second one while on probation is a
detention instead); for those already out of school the shares other than
dropping out scale up. Outcomes are written in the tables like any event and
feed the need (civic and probation components). After dropping out there is
no more attendance, grade or school incident, but the young person is still
followed. With the defaults about 9-10% of the truth rows have an outcome
within a year.

**The truth.** One row per (youth_id, as_of) for the default as_of dates (1
August and 1 February from a year after the start to one horizon before the
extraction date) and everyone aged 11-19 then (whole years) who has not
graduated or transferred: ``true_probability`` of at least one adverse outcome
in [as_of, as_of + horizon) given the state at as_of (Rao-Blackwellised Monte
Carlo over 32 future paths with the same dynamics, see
:mod:`synthetic._truth`), ``true_main_driver`` and ``true_need`` at as_of.
With the defaults the truth's ROC AUC against the labels is about 0.75, and
gradient-boosted trees on the feature registry's point-in-time features come
within about 0.015 of it (a tree model given the exact state: within 0.006).

**Recording bias.** With ``bias_municipality`` and/or ``bias_group`` (someone
in either is biased) and ``bias_rate`` R, the minor civic infractions (not for
violence) of biased young people are recorded R times as often as they
happen: extra records at R - 1 times the true rate, from a random stream of
their own, never fed into the need. Outcomes are recorded the same way: extra
violence infractions at R - 1 times the true rate of violent outcomes, so
labels built from the records are biased too. The behaviour, and so the truth
file, is identical with and without bias.

Randomness: ``numpy.random.Generator(PCG64)`` streams spawned from the seed
(behaviour, record details, recording bias, truth Monte Carlo); rows are
sorted and files carry no timestamps.
"""

from __future__ import annotations

import datetime as dt
import json
import unicodedata
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pyarrow as pa
import pyarrow.csv as pa_csv
import pyarrow.parquet as pq

from features.schemas import OPTIONAL_TABLES, TABLES
from previ.atomic import atomic_dir
from previ.config import LotteryBandConfig, SynthConfig
from previ.errors import PreviError
from synthetic import _model as model
from synthetic import _records as records
from synthetic import _served as served_model
from synthetic import _tables as arrow_tables
from synthetic import _truth as truth_model
from synthetic import _world as world
from synthetic._allocation import CapacityRanking, RecordedCutoffs, allocation_table
from synthetic._effects import ProgramEffects, load_effects
from synthetic._world import FloatArray

__all__ = [
    "AUDIT_COLUMNS",
    "DRIVERS",
    "FORMATS",
    "MUNICIPALITY_NAMES",
    "PROTECTIVE",
    "Format",
    "IdRange",
    "SynthSummary",
    "SyntheticBundle",
    "as_of_dates",
    "simulate_bundle",
    "synthesize",
]

Format = Literal["csv", "parquet"]
FORMATS: tuple[Format, ...] = ("csv", "parquet")
DRIVERS = model.DRIVERS
PROTECTIVE = model.PROTECTIVE
AUDIT_COLUMNS = ("indigenous", "disability")
MUNICIPALITY_NAMES = tuple(municipality.name for municipality in world.MUNICIPALITIES)
TRUTH_NAME = "truth"
TRUTH_EFFECTS_NAME = "truth_effects.json"
ALLOCATIONS_NAME = (
    "allocations"  # the rank world's monthly rankings near the cut-off (previ evaluate --design)
)
MANIFEST_NAME = "manifest.json"
DEFAULT_PATHS = 32

REQUIRED_TABLE_ERROR = "synth: table '{table}' is required and cannot be dropped"
UNKNOWN_TABLE_ERROR = "synth: unknown table '{table}' in drop_tables; expected some of: {allowed}"
UNKNOWN_MUNICIPALITY_ERROR = "synth: unknown bias municipality '{name}'; expected one of: {allowed}"
UNKNOWN_GROUP_ERROR = "synth: unknown bias group '{name}'; expected an audit column: {allowed}"
UNKNOWN_FORMAT_ERROR = "synth: unknown format '{fmt}'; expected csv or parquet"


@dataclass(frozen=True)
class IdRange:
    """The young people of one simulation as a slice of a larger population.

    Their ids run from ``Y<first>``, padded to the width of ``total`` ids, so
    that the buckets of a partitioned synthesis never share an id.
    """

    first: int
    total: int


@dataclass(frozen=True)
class SyntheticBundle:
    """A simulated bundle in memory: the tables to write, the truth and the manifest."""

    tables: dict[str, pa.Table]
    truth: pa.Table
    truth_effects: dict[str, Any]
    manifest: dict[str, Any]
    outcome_rate: float
    mean_true_probability: float
    allocations: pa.Table | None = None


@dataclass(frozen=True)
class SynthSummary:
    """What :func:`synthesize` wrote.

    ``outcome_rate`` is the share of truth rows with at least one recorded
    adverse outcome in their window (what labels built from the bundle see);
    ``rows`` counts the rows of each bundle table written.
    """

    out_dir: Path
    format: Format
    rows: dict[str, int]
    truth_rows: int
    outcome_rate: float
    mean_true_probability: float
    start: dt.date
    extraction_date: dt.date
    as_of: tuple[dt.date, ...]


def synthesize(
    config: SynthConfig,
    out_dir: Path,
    *,
    fmt: Format = "parquet",
    horizon_days: int = 365,
    paths: int = DEFAULT_PATHS,
    ids: IdRange | None = None,
    lottery: LotteryBandConfig | None = None,
) -> SynthSummary:
    """Simulate a bundle and write it to ``out_dir`` all-or-nothing.

    ``ids`` numbers the young people as a slice of a larger population (see
    :class:`IdRange`). Raises :class:`PreviError` (before any work) for a
    table that cannot be dropped, an unknown municipality, group or format. An
    existing ``out_dir`` is replaced only once the new bundle is complete.
    """
    if fmt not in FORMATS:
        raise PreviError(UNKNOWN_FORMAT_ERROR.format(fmt=fmt))
    bundle = simulate_bundle(config, horizon_days=horizon_days, paths=paths, ids=ids, lottery=lottery)
    manifest = {
        **bundle.manifest,
        "format": fmt,
        "truth": f"{TRUTH_NAME}.{fmt}",
        "truth_effects": TRUTH_EFFECTS_NAME,
    }
    if bundle.allocations is not None:
        manifest["allocation"] = {**manifest["allocation"], "allocations": f"{ALLOCATIONS_NAME}.{fmt}"}
    with atomic_dir(Path(out_dir)) as folder:
        for name, table in bundle.tables.items():
            _write(table, folder / f"{name}.{fmt}", fmt)
        _write(bundle.truth, folder / f"{TRUTH_NAME}.{fmt}", fmt)
        if bundle.allocations is not None:
            _write(bundle.allocations, folder / f"{ALLOCATIONS_NAME}.{fmt}", fmt)
        effects_text = json.dumps(bundle.truth_effects, indent=2, ensure_ascii=False) + "\n"
        (folder / TRUTH_EFFECTS_NAME).write_text(effects_text, encoding="utf-8")
        text = json.dumps(manifest, indent=2, ensure_ascii=False) + "\n"
        (folder / MANIFEST_NAME).write_text(text, encoding="utf-8")
    return SynthSummary(
        out_dir=Path(out_dir),
        format=fmt,
        rows={name: table.num_rows for name, table in bundle.tables.items()},
        truth_rows=bundle.truth.num_rows,
        outcome_rate=bundle.outcome_rate,
        mean_true_probability=bundle.mean_true_probability,
        start=dt.date.fromisoformat(manifest["start"]),
        extraction_date=dt.date.fromisoformat(manifest["extraction_date"]),
        as_of=tuple(dt.date.fromisoformat(day) for day in manifest["as_of"]),
    )


def simulate_bundle(
    config: SynthConfig,
    *,
    horizon_days: int = 365,
    paths: int = DEFAULT_PATHS,
    ids: IdRange | None = None,
    lottery: LotteryBandConfig | None = None,
) -> SyntheticBundle:
    """Run the generative model of this module's docstring; return the tables in memory.

    Raises :class:`PreviError` before any work for invalid options. Tables in
    ``config.drop_tables`` are simulated all the same (the other tables do not
    change) and left out of :attr:`SyntheticBundle.tables`. ``lottery`` (the
    config's ``allocation.lottery_band``) only applies when ``config.allocation``
    is ``rank``.
    """
    options = _validate(config, horizon_days=horizon_days, paths=paths)
    # more streams for the potential outcomes leave the first four (and so the records) unchanged
    streams = np.random.SeedSequence(config.seed).spawn(6)
    behaviour, detail, bias_stream, truth_stream, served_stream, margin_stream = (
        np.random.Generator(np.random.PCG64(s)) for s in streams
    )
    effects = options.effects
    calendar = world.make_calendar(config.start_year, 12 * config.years)
    as_of_months = _as_of_months(calendar, horizon_days)
    population = world.make_population(config.youth, config.start_year, config.years, behaviour)
    state = model.State.initial(population, behaviour)
    recorder = records.Recorder(population, detail, bias_stream, _bias(options, config.bias_rate, population))
    ranking = None
    if config.allocation == "rank":
        band = 0.0 if lottery is None else lottery.width
        lottery_seed = 0 if lottery is None else lottery.seed
        ranking = CapacityRanking(
            config.places_share, band, np.random.Generator(np.random.PCG64(lottery_seed))
        )
    truth_states = []
    served = served_model.ServedTruth()
    margin = served_model.MarginTruth()
    for month in calendar:
        if month.index in as_of_months:
            truth_states.append((month, state.copy()))
        before = (state.effect.copy(), state.effect_left.copy())
        need, events = _simulate_month(population, state, month, recorder, behaviour, effects, ranking)
        served.add_month(
            population, state, before, events, calendar, month, horizon_days=horizon_days, rng=served_stream
        )
        if ranking is not None and ranking.rankings and ranking.rankings[-1].month == month.index:
            margin.add_ranking(
                population,
                state,
                before,
                events,
                need,
                ranking.rankings[-1],
                calendar,
                month,
                horizon_days=horizon_days,
                rng=margin_stream,
                effects=effects,
            )
    # the truth's paths replay the recorded cut-offs of the months after their as_of
    replay = None if ranking is None else RecordedCutoffs(ranking.cutoffs)
    truth_parts = [
        truth_model.truth_at(
            population,
            month_state,
            calendar,
            month,
            horizon_days=horizon_days,
            paths=paths,
            rng=truth_stream,
            effects=effects,
            allocation=replay,
        )
        for month, month_state in truth_states
    ]
    for kept in (served, margin):
        kept.finish(
            calendar, horizon_days=horizon_days, paths=max(1, paths // 2), effects=effects, allocation=replay
        )

    codes = recorder.finish(population, state, calendar[-1])
    numbering = ids or IdRange(first=0, total=population.size)
    youth_ids = arrow_tables.youth_ids(population.size, first=numbering.first, total=numbering.total)
    tables = {"youth": arrow_tables.youth_table(codes["youth"], youth_ids)}
    for name in TABLES:
        if name != "youth" and name not in options.dropped:
            tables[name] = arrow_tables.to_arrow(name, codes[name], youth_ids)
    truth = truth_model.truth_table(truth_parts, youth_ids)
    probabilities = truth.column("true_probability").to_numpy()
    truth_effects = served.summary(effects)
    manifest = _manifest(config, options, calendar, as_of_months, tables, horizon_days)
    allocations = None
    if ranking is not None:
        allocations = allocation_table(ranking.rankings, calendar, youth_ids)
        log = {"mode": "rank", "places_share": config.places_share, "lottery_band": None}
        if lottery is not None:
            log["lottery_band"] = {"width": lottery.width, "seed": lottery.seed}
        manifest["allocation"] = log
        truth_effects["margin"] = {
            "estimand": "average effect of a place offered in month m among the young people ranked "
            "within the band around that month's cut-off (the lottery band, or a quarter of the places "
            "either side without one): adverse outcome within the horizon from the first day of m + 1",
            **log,
            **margin.margin_summary(),
        }
    return SyntheticBundle(
        tables=tables,
        truth=truth,
        truth_effects=truth_effects,
        manifest=manifest,
        outcome_rate=truth_model.recorded_outcome_rate(codes, truth_parts, horizon_days),
        mean_true_probability=float(probabilities.mean()) if probabilities.size else float("nan"),
        allocations=allocations,
    )


def as_of_dates(config: SynthConfig, *, horizon_days: int = 365) -> list[dt.date]:
    """The as_of dates of the truth file of a bundle simulated with ``config``."""
    calendar = world.make_calendar(config.start_year, 12 * config.years)
    return [calendar[index].date for index in _as_of_months(calendar, horizon_days)]


def _as_of_months(calendar: tuple[world.Month, ...], horizon_days: int) -> list[int]:
    """1 August and 1 February from a year after the start, with the label window inside the data."""
    last_day = calendar[-1].end
    return [month.index for month in calendar[12::6] if month.start + horizon_days <= last_day + 1]


def _simulate_month(
    population: world.Population,
    state: model.State,
    month: world.Month,
    recorder: records.Recorder,
    rng: np.random.Generator,
    effects: ProgramEffects,
    allocation: CapacityRanking | None,
) -> tuple[FloatArray, model.MonthEvents]:
    """Outcomes first (a drop-out ends the school month early), then every other event.

    Returns the need at the start of the month and the month's events.
    """
    need = model.current_need(population, state, month)
    hazard = model.hazard(population, state, month, need)
    outcomes = model.draw_outcomes(population, state, month, hazard, rng)
    outcome_day = recorder.outcome_days(month, outcomes)
    school_until = np.where(model.is_enrolled(population, state, month), month.last_school_day, 0)
    school_until = np.where(outcomes.kind == model.DROPOUT, outcome_day - 1, school_until)
    events = model.draw_events(population, state, month, need, school_until, rng, effects, allocation)
    recorder.record(month, population, state, events, outcomes, outcome_day, school_until, need, hazard)
    model.advance(state, month, events, rng, effects, outcomes)
    return need, events


def _manifest(
    config: SynthConfig,
    options: _Options,
    calendar: tuple[world.Month, ...],
    as_of_months: list[int],
    tables: dict[str, pa.Table],
    horizon_days: int,
) -> dict[str, Any]:
    bias = None
    if options.municipality is not None or options.group is not None:
        municipality = None if options.municipality is None else MUNICIPALITY_NAMES[options.municipality]
        bias = {"municipality": municipality, "group": options.group, "rate": config.bias_rate}
    return {
        "generator": "previ synth",
        "seed": config.seed,
        "youth": config.youth,
        "years": config.years,
        "start": calendar[0].date.isoformat(),
        "extraction_date": world.day_to_date(calendar[-1].end).isoformat(),
        "tables": list(tables),
        "dropped_tables": list(options.dropped),
        "audit_columns": list(AUDIT_COLUMNS),
        "bias": bias,
        "program_effects": options.effects.name,
        "as_of": [calendar[index].date.isoformat() for index in as_of_months],
        "horizon_days": horizon_days,
    }


# --- validation -----------------------------------------------------------------------------------
@dataclass(frozen=True)
class _Options:
    """The options of a SynthConfig, checked and resolved."""

    dropped: tuple[str, ...]
    municipality: int | None
    group: str | None
    effects: ProgramEffects


def _validate(config: SynthConfig, *, horizon_days: int, paths: int) -> _Options:
    """Every problem at once, as one PreviError."""
    problems = []
    for name in config.drop_tables:
        if name in TABLES and name not in OPTIONAL_TABLES:
            problems.append(REQUIRED_TABLE_ERROR.format(table=name))
        elif name not in TABLES:
            problems.append(UNKNOWN_TABLE_ERROR.format(table=name, allowed=", ".join(OPTIONAL_TABLES)))
    municipality = None
    if config.bias_municipality is not None:
        municipality = _municipality_index(config.bias_municipality)
        if municipality is None:
            allowed = ", ".join(MUNICIPALITY_NAMES)
            problems.append(UNKNOWN_MUNICIPALITY_ERROR.format(name=config.bias_municipality, allowed=allowed))
    if config.bias_group is not None and config.bias_group not in AUDIT_COLUMNS:
        allowed = ", ".join(AUDIT_COLUMNS)
        problems.append(UNKNOWN_GROUP_ERROR.format(name=config.bias_group, allowed=allowed))
    if horizon_days < 1:
        problems.append(f"synth: horizon_days must be at least 1 (got {horizon_days})")
    if paths < 1:
        problems.append(f"synth: paths must be at least 1 (got {paths})")
    effects = None
    try:
        effects = load_effects(config.program_effects)
    except PreviError as error:
        problems.extend(error.lines)
    if problems or effects is None:
        raise PreviError(*problems)
    dropped = tuple(name for name in OPTIONAL_TABLES if name in config.drop_tables)
    return _Options(dropped=dropped, municipality=municipality, group=config.bias_group, effects=effects)


def _municipality_index(name: str) -> int | None:
    """Match a name or a code, ignoring case and accents ("cuautempan", "tepetlan de hidalgo", "CUA")."""
    wanted = _plain(name)
    for index, municipality in enumerate(world.MUNICIPALITIES):
        if wanted in (_plain(municipality.name), _plain(municipality.code)):
            return index
    return None


def _plain(text: str) -> str:
    decomposed = unicodedata.normalize("NFKD", text.strip().casefold())
    return "".join(char for char in decomposed if not unicodedata.combining(char))


def _bias(options: _Options, rate: float, population: world.Population) -> records.Bias | None:
    if options.municipality is None and options.group is None:
        return None
    biased = np.zeros(population.size, dtype=bool)
    if options.municipality is not None:
        biased |= population.municipality == options.municipality
    if options.group is not None:
        biased |= getattr(population, options.group)
    return records.Bias(biased=biased, rate=rate)


# --- writing -----------------------------------------------------------------------------------------
def _write(table: pa.Table, path: Path, fmt: Format) -> None:
    """Byte-stable writes: fixed codec and settings, no timestamps."""
    if fmt == "parquet":
        pq.write_table(table, path, compression="zstd", compression_level=3, use_dictionary=True)
    else:
        pa_csv.write_csv(table, path, write_options=pa_csv.WriteOptions(quoting_style="needed"))
