"""The setting of ``previ synth``: municipalities, programmes, school calendar and population.

Everything here is fixed before the first simulated month; what moves month by
month lives in :mod:`synthetic._model`.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from dataclasses import dataclass
from typing import Any, Self

import numpy as np
import numpy.typing as npt

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]
BoolArray = npt.NDArray[np.bool_]
CountArray = npt.NDArray[np.int16]  # small counts kept for many people and months

EPOCH = dt.date(1970, 1, 1)


@dataclass(frozen=True)
class Municipality:
    """A municipality: its share of the youth, indigenous prevalence and need offset."""

    name: str
    code: str
    share: float
    indigenous_rate: float
    need_offset: float


MUNICIPALITIES = (
    Municipality("Ciudad Benito Juárez", "CBJ", 0.34, 0.07, 0.06),
    Municipality("San Andrés Xoxotla", "SAX", 0.24, 0.10, 0.00),
    Municipality("Villa Zaragoza", "VZA", 0.16, 0.12, 0.03),
    Municipality("Santa Cruz Ameyalco", "SCA", 0.12, 0.25, -0.03),
    Municipality("Tepetlán de Hidalgo", "TEH", 0.08, 0.30, 0.03),
    Municipality("Cuautempan", "CUA", 0.06, 0.40, -0.06),
)
DISABILITY_RATE = 0.05
MALE_SHIFT = 0.10
# Boys' extra log-odds of absences, incidents, substance and civic events: the sex difference
# shows in the records, which then feed the need.
MALE_TENDENCY = np.array([0.0, 0.4, 0.2, 0.5])
BASELINE_SD = 0.07
TENDENCY_SD = 0.45  # per-youth log-odds shifts of absences, incidents, substance, civic events
YOUTH_PER_SECONDARY_SCHOOL = 600
ABSENCE_TENDENCY, INCIDENT_TENDENCY, SUBSTANCE_TENDENCY, CIVIC_TENDENCY = range(4)


@dataclass(frozen=True)
class Program:
    """A prevention programme: length in months and sessions offered per month."""

    name: str
    months: int
    sessions_per_month: int


PROGRAMS = (
    Program("tutoria_academica", 4, 8),
    Program("mentoria", 6, 4),
    Program("deporte_y_cultura", 5, 8),
    Program("apoyo_familiar", 4, 4),
    Program("mediacion_restaurativa", 2, 3),
    Program("prevencion_adicciones", 4, 4),
    Program("reinsercion_escolar", 6, 8),
)
REINSERTION = 6
PROGRAM_MONTHS = np.array([program.months for program in PROGRAMS])

SUBJECTS = ("matemáticas", "español", "ciencias", "historia", "inglés", "formación cívica y ética")
SUBJECT_OFFSET = np.array([-0.5, 0.0, -0.2, 0.1, -0.3, 0.4])

# Calendar month -> (first school day, last school day, school days): an approximation of the
# SEP calendar (classes from late August to mid July, winter break, Semana Santa in April).
SCHOOL_MONTHS = {
    8: (26, 31, 4),
    9: (1, 30, 20),
    10: (1, 31, 22),
    11: (1, 30, 18),
    12: (1, 19, 13),
    1: (8, 31, 17),
    2: (1, 28, 18),
    3: (1, 31, 19),
    4: (1, 30, 12),
    5: (1, 31, 20),
    6: (1, 30, 21),
    7: (1, 15, 11),
}
TERM_END_MONTHS = (11, 3, 7)  # three terms a year; grades on the last school day


@dataclass(frozen=True)
class Month:
    """One simulated month; days are counted from 1970-01-01."""

    index: int
    start: int
    length: int
    calendar_month: int
    school_year: int
    first_school_day: int
    last_school_day: int
    school_days: int
    term_end: bool

    @property
    def end(self) -> int:
        return self.start + self.length - 1

    @property
    def date(self) -> dt.date:
        return day_to_date(self.start)


def date_to_day(date: dt.date) -> int:
    return (date - EPOCH).days


def day_to_date(day: int) -> dt.date:
    return EPOCH + dt.timedelta(days=int(day))


def make_calendar(start_year: int, months: int) -> tuple[Month, ...]:
    """The months from August of ``start_year``, each with its school days."""
    calendar = []
    for index in range(months):
        year, month0 = divmod(7 + index, 12)
        first = dt.date(start_year + year, month0 + 1, 1)
        following = dt.date(first.year + (first.month == 12), first.month % 12 + 1, 1)
        length = (following - first).days
        first_school, last_school, school_days = SCHOOL_MONTHS[first.month]
        calendar.append(
            Month(
                index=index,
                start=date_to_day(first),
                length=length,
                calendar_month=first.month,
                school_year=first.year if first.month >= 8 else first.year - 1,
                first_school_day=first_school,
                last_school_day=min(last_school, length),
                school_days=school_days,
                term_end=first.month in TERM_END_MONTHS,
            )
        )
    return tuple(calendar)


class ArrayColumns:
    """A dataclass of per-youth arrays (youth on the last axis) that can be subset by rows.

    A field may itself be an :class:`ArrayColumns`: it is subset and copied with the rest.
    """

    def take(self, rows: IntArray) -> Self:
        values: dict[str, Any] = {
            field.name: _take(getattr(self, field.name), rows)
            for field in dataclasses.fields(self)  # type: ignore[arg-type]
        }
        return type(self)(**values)

    def copy(self) -> Self:
        values: dict[str, Any] = {
            field.name: getattr(self, field.name).copy()
            for field in dataclasses.fields(self)  # type: ignore[arg-type]
        }
        return type(self)(**values)


def _take(values: np.ndarray | ArrayColumns, rows: IntArray) -> np.ndarray | ArrayColumns:
    if isinstance(values, ArrayColumns):
        return values.take(rows)
    return np.take(values, rows, axis=-1)  # stays C-contiguous


@dataclass(frozen=True)
class Population(ArrayColumns):
    """What does not change about each young person.

    ``entry_year`` is the calendar year of the August in which they start
    secundaria (grade 7). Records begin a year earlier, in the last year of
    primaria (grade 6, age 11 or 12), so that the youngest young people of the
    programme's population have attendance and grades like everyone else;
    ``entry_month`` (the August of grade 6) and ``graduation_month`` (the July
    that ends grade 12) are month indices of the simulation.
    """

    birth_day: IntArray
    male: BoolArray
    municipality: IntArray
    indigenous: BoolArray
    disability: BoolArray
    entry_year: IntArray
    entry_month: IntArray
    graduation_month: IntArray
    baseline: FloatArray
    ability: FloatArray
    tendency: FloatArray  # (4, n): absences, incidents, substance, civic
    secondary_school: IntArray
    upper_school: IntArray

    @property
    def size(self) -> int:
        return int(self.birth_day.size)

    def age(self, day: int) -> FloatArray:
        """Age in years on ``day``."""
        return np.asarray((day - self.birth_day) / 365.25)


PRIMARIA_YEARS_FOLLOWED = 1
"""School years of primaria on record before secundaria (grade 6)."""


def make_population(size: int, start_year: int, years: int, rng: np.random.Generator) -> Population:
    """Draw ``size`` young people in cohorts that start secundaria between five years
    before the simulation and the year after it ends (that cohort is in grade 6
    in the last year), so about seven grades are followed at any time.
    """
    entry_year = rng.integers(start_year - 5, start_year + years + 1, size)
    delay = (rng.random(size) < 0.15).astype(np.int64)  # repeated a grade in primaria
    birth_year = entry_year - 12 - delay
    year_start = (birth_year - 1970).astype("datetime64[Y]").astype("datetime64[D]").astype(np.int64)
    year_length = np.where(_is_leap(birth_year), 366, 365)
    birth_day = year_start + (rng.random(size) * year_length).astype(np.int64)
    shares = np.array([municipality.share for municipality in MUNICIPALITIES])
    municipality = rng.choice(len(MUNICIPALITIES), size=size, p=shares / shares.sum()).astype(np.int64)
    indigenous_rate = np.array([municipality.indigenous_rate for municipality in MUNICIPALITIES])
    offsets = np.array([municipality.need_offset for municipality in MUNICIPALITIES])
    male = rng.random(size) < 0.5
    indigenous = rng.random(size) < indigenous_rate[municipality]
    disability = rng.random(size) < DISABILITY_RATE
    baseline = offsets[municipality] + MALE_SHIFT * male + rng.normal(0.0, BASELINE_SD, size)
    ability = rng.normal(8.0, 0.75, size)
    tendency = rng.normal(0.0, TENDENCY_SD, (4, size)) + MALE_TENDENCY[:, None] * male
    secondary_count = np.maximum(2, np.rint(shares * size / YOUTH_PER_SECONDARY_SCHOOL)).astype(np.int64)
    upper_count = np.maximum(1, secondary_count // 2)
    secondary_school = 1 + (rng.random(size) * secondary_count[municipality]).astype(np.int64)
    upper_school = (
        secondary_count[municipality] + 1 + (rng.random(size) * upper_count[municipality]).astype(np.int64)
    )
    return Population(
        birth_day=birth_day,
        male=male,
        municipality=municipality,
        indigenous=indigenous,
        disability=disability,
        entry_year=entry_year,
        entry_month=np.maximum(0, (entry_year - PRIMARIA_YEARS_FOLLOWED - start_year) * 12),
        graduation_month=(entry_year + 6 - start_year) * 12 - 1,
        baseline=baseline,
        ability=ability,
        tendency=tendency,
        secondary_school=secondary_school,
        upper_school=upper_school,
    )


def _is_leap(year: IntArray) -> BoolArray:
    return np.asarray(((year % 4 == 0) & (year % 100 != 0)) | (year % 400 == 0))
