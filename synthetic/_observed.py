"""What a referring caseworker or school sees of each young person: their recent records.

Issue #14 asks for a world where "enrolment depends on observed need and on
capacity". Referrals and ranked places therefore depend on the records, never
on the latent need or its components: each risk factor is scored from the
count that the feature registry computes at the first day of the month, so
that ``previ evaluate``'s covariates (the registry's point-in-time features at
the enrolment month) hold everything a referral depends on.

====================  ====================================================  ============================
factor                records counted (months before the current one)        registry feature
====================  ====================================================  ============================
unexcused_absences    unexcused absent days, last 3 months                  unexcused_absences_90d
falling_grades        subjects failed in the latest term                    failed_subjects_last_term
school_incidents      school incidents of any category, last 3 months       incidents_90d
substance             substance incidents at school, last 12 months         substance_incidents_365d
civic_infractions     civic infractions of any category (minor, substance,  civic_infractions_365d
                      violence), last 12 months
probation             on probation                                          probation_active
program_dropout       programmes dropped                                    programs_dropped_total
====================  ====================================================  ============================

Months stand for the features' days: three calendar months are 89 to 92 days
and twelve are 365 or 366, so an event on the first day or two of the oldest
month can fall outside the feature's window (and in a 89-day spring quarter
the month before counts for attendance). That is the only gap between what a
referral sees and what the evaluation adjusts for.

Each count is weighted by :data:`RECORD_WEIGHT` so that a factor's score is
about the size of its latent component given the record (a least-squares fit
over a simulated world; see the constant): the sum of the scores is the need
as the records show it, and the largest score is the main driver on record.
Counts are kept month by month in rings indexed by the month's index, so a
month costs a few operations per person whatever the window.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from synthetic._world import ArrayColumns, BoolArray, CountArray, FloatArray, IntArray

QUARTER, YEAR = 3, 12  # months standing for the registry's 90- and 365-day windows
# Score per record, in the order of synthetic._model.DRIVERS: the least-squares slope (through 0)
# of each latent component on its record count, over a 10% sample of the person-months of those
# eligible for a referral in a default world (20,000 young people, seed 1, months 12-59), rounded.
# The sum of the scores then correlates 0.89 with the sum of the latent risk components.
RECORD_WEIGHT = np.array([0.048, 0.15, 0.44, 0.39, 0.35, 0.60, 0.17])


@dataclass
class Seen(ArrayColumns):
    """Each young person's records by month, as a caseworker or a school would read them.

    The ring arrays are (months, n): the slot of a month is its index modulo
    the ring's length, so the ring holds exactly the last ``QUARTER`` or
    ``YEAR`` months.
    """

    absences: CountArray  # (QUARTER, n) unexcused absent days
    incidents: CountArray  # (QUARTER, n) school incidents of any category
    substance: CountArray  # (YEAR, n) substance incidents at school
    civic: CountArray  # (YEAR, n) civic infractions of any category
    failed_last_term: CountArray  # (n,) subjects failed in the latest term
    programs_dropped: CountArray  # (n,)

    @classmethod
    def empty(cls, size: int) -> Seen:
        """No record yet: the simulation's first month."""
        return cls(
            absences=np.zeros((QUARTER, size), dtype=np.int16),
            incidents=np.zeros((QUARTER, size), dtype=np.int16),
            substance=np.zeros((YEAR, size), dtype=np.int16),
            civic=np.zeros((YEAR, size), dtype=np.int16),
            failed_last_term=np.zeros(size, dtype=np.int16),
            programs_dropped=np.zeros(size, dtype=np.int16),
        )

    def add_month(
        self,
        month_index: int,
        *,
        unexcused: IntArray,
        incidents: IntArray,
        school_substance: IntArray,
        civic: IntArray,
        graded: IntArray,
        failed_subjects: IntArray,
        program_dropout: BoolArray,
    ) -> None:
        """Write the records of month ``month_index`` over the oldest month of each ring.

        ``incidents`` and ``civic`` count every category (substance ones included);
        ``graded`` are the rows graded this month, whose latest term becomes this one.
        """
        self.absences[month_index % QUARTER] = unexcused
        self.incidents[month_index % QUARTER] = incidents
        self.substance[month_index % YEAR] = school_substance
        self.civic[month_index % YEAR] = civic
        self.failed_last_term[graded] = failed_subjects[graded]
        self.programs_dropped += program_dropout

    def factor_scores(self, on_probation: BoolArray) -> FloatArray:
        """(factors, n): each risk factor's score on record, in the order of ``DRIVERS``."""
        counts = np.stack(
            [
                self.absences.sum(axis=0, dtype=np.float64),
                self.failed_last_term.astype(np.float64),
                self.incidents.sum(axis=0, dtype=np.float64),
                self.substance.sum(axis=0, dtype=np.float64),
                self.civic.sum(axis=0, dtype=np.float64),
                on_probation.astype(np.float64),
                self.programs_dropped.astype(np.float64),
            ]
        )
        return np.asarray(RECORD_WEIGHT[:, None] * counts)
