"""The data bundle's tables, declared once.

Every table of DESIGN.md is described here: its columns, their kinds, allowed
values and ranges, its key and its date-order rules. The loader/validator checks
files against these declarations, the synthesiser writes files in this shape and
the feature builder reads the typed frames the loader returns. Nothing else in
previ spells out a table's columns.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

ColumnKind = Literal["id", "date", "int", "float", "bool", "category", "text"]


@dataclass(frozen=True)
class Column:
    """One column of a bundle table.

    ``allowed`` restricts a category to a closed set of values; ``minimum`` and
    ``maximum`` bound numbers; ``nullable`` says whether a blank cell is legal.
    """

    name: str
    kind: ColumnKind
    nullable: bool = False
    allowed: tuple[str, ...] | None = None
    minimum: float | None = None
    maximum: float | None = None
    description: str = ""


@dataclass(frozen=True)
class DateOrder:
    """``end`` must not fall before ``start`` in the same row (blank ``end`` is fine)."""

    start: str
    end: str


@dataclass(frozen=True)
class TableSchema:
    """A table of the bundle: its columns, its key and its row-level rules."""

    name: str
    row: str
    columns: tuple[Column, ...]
    key: tuple[str, ...] = ()
    required: bool = False
    date_orders: tuple[DateOrder, ...] = ()
    # Pairs (part, whole): the sum of the part columns must not exceed the whole.
    sum_limits: tuple[tuple[tuple[str, ...], str], ...] = field(default=())

    @property
    def column_names(self) -> tuple[str, ...]:
        return tuple(column.name for column in self.columns)

    def column(self, name: str) -> Column:
        for column in self.columns:
            if column.name == name:
                return column
        raise KeyError(name)


SEXES = ("F", "M")
INCIDENT_CATEGORIES = ("fight", "bullying", "vandalism", "substance", "weapon", "other")
JUSTICE_KINDS = ("civic_infraction", "probation_start", "probation_end", "detention")
JUSTICE_CATEGORIES = ("property", "violence", "substance", "public_order", "other")
DISPOSITIONS = ("warning", "mediation", "community_service", "fine", "probation", "other")
PROGRAM_STATUSES = ("active", "completed", "dropped")
EXIT_REASONS = ("graduated", "transferred", "dropped_out")

YOUTH = TableSchema(
    name="youth",
    row="young person",
    required=True,
    key=("youth_id",),
    columns=(
        Column("youth_id", "id", description="pseudonymous id, never a name or CURP"),
        Column("birth_date", "date"),
        Column("sex", "category", allowed=SEXES),
        Column("municipality", "text"),
        Column("school_id", "text", nullable=True, description="blank when not enrolled"),
    ),
)

ATTENDANCE = TableSchema(
    name="attendance",
    row="reporting period",
    key=("youth_id", "period_start"),
    date_orders=(DateOrder("period_start", "period_end"),),
    sum_limits=((("days_absent_excused", "days_absent_unexcused"), "days_enrolled"),),
    columns=(
        Column("youth_id", "id"),
        Column("period_start", "date"),
        Column("period_end", "date"),
        Column("days_enrolled", "int", minimum=0),
        Column("days_absent_excused", "int", minimum=0),
        Column("days_absent_unexcused", "int", minimum=0),
        Column("days_late", "int", minimum=0),
    ),
)

GRADES = TableSchema(
    name="grades",
    row="subject and term",
    key=("youth_id", "term_end", "subject"),
    columns=(
        Column("youth_id", "id"),
        Column("term_end", "date"),
        Column("subject", "text"),
        Column("grade", "float", minimum=0, maximum=10, description="0-10 scale, 6 to pass"),
        Column("passed", "bool"),
    ),
)

SCHOOL_INCIDENTS = TableSchema(
    name="school_incidents",
    row="incident",
    columns=(
        Column("youth_id", "id"),
        Column("date", "date"),
        Column("category", "category", allowed=INCIDENT_CATEGORIES),
        Column("severity", "int", minimum=1, maximum=3),
        Column("suspension_days", "int", minimum=0),
    ),
)

JUSTICE_CONTACTS = TableSchema(
    name="justice_contacts",
    row="civic-justice or probation event",
    columns=(
        Column("youth_id", "id"),
        Column("date", "date"),
        Column("kind", "category", allowed=JUSTICE_KINDS),
        Column("category", "category", allowed=JUSTICE_CATEGORIES),
        Column("disposition", "category", allowed=DISPOSITIONS, nullable=True),
    ),
)

PROGRAMS = TableSchema(
    name="programs",
    row="enrolment in a prevention programme",
    key=("youth_id", "program", "start_date"),
    date_orders=(DateOrder("start_date", "end_date"),),
    sum_limits=((("sessions_attended",), "sessions_offered"),),
    columns=(
        Column("youth_id", "id"),
        Column("program", "text"),
        Column("start_date", "date"),
        Column("end_date", "date", nullable=True, description="blank while active"),
        Column("status", "category", allowed=PROGRAM_STATUSES),
        Column("sessions_attended", "int", minimum=0),
        Column("sessions_offered", "int", minimum=0),
    ),
)

SCHOOL_EXITS = TableSchema(
    name="school_exits",
    row="exit from school",
    key=("youth_id", "date"),
    columns=(
        Column("youth_id", "id"),
        Column("date", "date"),
        Column("reason", "category", allowed=EXIT_REASONS),
    ),
)

TABLES: dict[str, TableSchema] = {
    table.name: table
    for table in (
        YOUTH,
        ATTENDANCE,
        GRADES,
        SCHOOL_INCIDENTS,
        JUSTICE_CONTACTS,
        PROGRAMS,
        SCHOOL_EXITS,
    )
}
OPTIONAL_TABLES: tuple[str, ...] = tuple(name for name, table in TABLES.items() if not table.required)
