"""Reason codes: the few facts that most raised, and most lowered, each person's estimated need.

From an :class:`~models.explain.Explanation`, each row gets up to ``top`` reasons
(the largest positive contributions: they raise the need for support) and up to
``top`` protective factors (the most negative ones), ignoring contributions
smaller than ``min_contribution`` in logit units. Only features of kind ``need``
or ``history`` (see :mod:`features.registry`) *with a recorded value* can be
reasons or protective factors: nobody can act on an age, and a missing record is
not a fact about the young person. Those go apart, still row by row:

* ``context``: every context feature (age), with its value, shown as context;
* ``gap``: up to ``top`` missing values that moved the score by at least
  ``min_contribution``, strongest first: a record to check, never a reason.

A reason carries the registry's sentence with the person's value filled in, the
factor it measures and the referral tags it points to. A feature with no registry
entry (a flat table's column) counts as a need and gets a plain sentence, its
readable name and value ("V60 SAVRY total score: 24").

Two ways in, one selection rule. :func:`reason_codes` serves batches: selection
is vectorised over rows (a stable sort of the contribution matrix), and sentences
are written once per distinct (feature, value) among the selected cells, so
100,000 rows cost a fraction of a second. :func:`row_reasons` serves one person
(the live API): the same rule over one row of plain floats, in microseconds and
without pandas. Both pick, among equal contributions, the earlier column; a test
holds them to the same answers.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import TYPE_CHECKING, Any, Literal

import numpy as np

from features.registry import FEATURES_BY_NAME, Feature, Language, format_value

if TYPE_CHECKING:
    import pandas as pd

    from models.explain import Explanation

__all__ = [
    "DIRECTIONS",
    "TABLE_COLUMNS",
    "Reason",
    "ReasonCodes",
    "RowReasons",
    "reason_codes",
    "row_reasons",
]

Direction = Literal["raises", "lowers", "context", "gap"]
# Order of the groups in the long table.
DIRECTIONS: tuple[Direction, ...] = ("raises", "lowers", "context", "gap")
TABLE_COLUMNS = (
    "row",
    "direction",
    "rank",
    "feature",
    "value",
    "contribution",
    "sentence",
    "factor",
    "referral_tags",
)
_REASON_FIELDS = ("feature", "value", "contribution", "direction", "sentence", "factor", "referral_tags")
# The sentence for a column the registry does not know; only the value's format depends on the language.
PLAIN_SENTENCE: dict[Language, str] = {"es": "{name}: {value}", "en": "{name}: {value}"}
DECIMAL_MARK: dict[Language, str] = {"es": ",", "en": "."}


@dataclass(frozen=True)
class Reason:
    """One fact beside a score. ``value`` is None when the feature was missing (``direction == "gap"``)."""

    feature: str
    value: float | str | None
    contribution: float
    direction: Direction
    sentence: str
    factor: str | None
    referral_tags: tuple[str, ...]


@dataclass(frozen=True)
class RowReasons:
    """One person's reasons (need raised) and protective factors (need lowered), strongest first.

    ``context`` holds the context features (age) and ``gaps`` the missing values
    worth checking in the record; neither is a reason nor a referral's basis.
    """

    risk: tuple[Reason, ...]
    protective: tuple[Reason, ...]
    context: tuple[Reason, ...] = ()
    gaps: tuple[Reason, ...] = ()

    @classmethod
    def of(cls, reasons: Iterable[Reason]) -> RowReasons:
        """Split reasons (in table order) into the four groups by their direction."""
        groups: dict[str, list[Reason]] = {direction: [] for direction in DIRECTIONS}
        for reason in reasons:
            groups[reason.direction].append(reason)
        return cls(
            risk=tuple(groups["raises"]),
            protective=tuple(groups["lowers"]),
            context=tuple(groups["context"]),
            gaps=tuple(groups["gap"]),
        )


@dataclass(frozen=True, eq=False)
class ReasonCodes:
    """Reason codes for many rows: one long table, and a per-row view of it.

    ``table`` has the columns :data:`TABLE_COLUMNS`, sorted by row, then by
    direction in :data:`DIRECTIONS` order (raising reasons, protective factors,
    context, data gaps), then rank (1 = strongest; context in registry order).
    ``row`` is the position in the explained data.
    """

    table: pd.DataFrame
    n_rows: int

    def for_row(self, row: int) -> RowReasons:
        """The reasons of the row at position ``row`` (0..n_rows-1)."""
        if not 0 <= row < self.n_rows:
            raise IndexError(f"row {row} is outside 0..{self.n_rows - 1}")
        rows = self.table["row"].to_numpy()
        start, stop = np.searchsorted(rows, [row, row + 1])
        part = self.table.iloc[start:stop]
        columns = [part[name].tolist() for name in _REASON_FIELDS]
        reasons = [
            Reason(feature, value, float(contribution), direction, sentence, factor, tags)
            for feature, value, contribution, direction, sentence, factor, tags in zip(*columns, strict=True)
        ]
        return RowReasons.of(reasons)


def reason_codes(
    explanation: Explanation,
    *,
    language: Language = "es",
    registry: Mapping[str, Feature] | None = None,
    top: int = 3,
    min_contribution: float = 0.01,
) -> ReasonCodes:
    """Select and word the reasons of every explained row.

    ``registry`` maps feature names to declarations (default: previ's feature
    registry; pass ``{}`` for a flat table whose columns are not registry features).
    """
    import pandas as pd

    registry = FEATURES_BY_NAME if registry is None else registry
    names = explanation.feature_names
    rows, columns, ranks, groups = _select(explanation, registry, top, min_contribution)
    values, sentences = _word(explanation, rows, columns, registry, language)
    factors = np.empty(len(names), dtype=object)
    tags = np.empty(len(names), dtype=object)
    for index, name in enumerate(names):
        factors[index] = registry[name].factor if name in registry else None
        tags[index] = tuple(registry[name].referral_tags) if name in registry else ()
    text = {
        "direction": np.asarray(DIRECTIONS, dtype=object)[groups],
        "feature": np.asarray(names, dtype=object)[columns] if names else np.empty(0, dtype=object),
        "value": values,
        "sentence": sentences,
        "factor": factors[columns],
        "referral_tags": tags[columns],
    }
    numbers = {"row": rows, "rank": ranks, "contribution": explanation.contributions[rows, columns]}
    # Text columns stay object: inferring a string dtype for so many sentences costs as much as wording them.
    table = pd.DataFrame(
        {
            name: pd.Series(text[name], dtype=object) if name in text else numbers[name]
            for name in TABLE_COLUMNS
        }
    )
    return ReasonCodes(table=table, n_rows=len(explanation))


def row_reasons(
    feature_names: Sequence[str],
    contributions: Sequence[float],
    values: Sequence[float | str | None],
    *,
    language: Language = "es",
    registry: Mapping[str, Feature] | None = None,
    top: int = 3,
    min_contribution: float = 0.01,
) -> RowReasons:
    """One person's reasons, as :func:`reason_codes` gives them for one explained row.

    ``contributions`` (logit units) and ``values`` (None or NaN: missing) are in
    ``feature_names`` order. The rule is :func:`reason_codes`'s: up to ``top``
    recorded need or history values each way, at least ``min_contribution``
    strong, strongest first (ties: the earlier feature); every context feature,
    in feature order; up to ``top`` missing values as data gaps, by absolute
    contribution. Built for the one-person path of the service: no pandas, no
    arrays, a few microseconds.
    """
    registry = FEATURES_BY_NAME if registry is None else registry
    # Only values at least min_contribution strong can be chosen, so only they are ranked: as (-strength,
    # column) pairs, whose natural order is the batch's (strongest first, ties to the earlier column).
    raises: list[tuple[float, int]] = []
    lowers: list[tuple[float, int]] = []
    gaps: list[tuple[float, int]] = []
    context: list[int] = []
    for column, name in enumerate(feature_names):
        declared = registry.get(name)
        if declared is not None and declared.kind == "context":
            context.append(column)
            continue
        value = values[column]
        contribution = float(contributions[column])
        if value is None or value != value:  # missing: a record to check, never a reason
            if abs(contribution) >= min_contribution:
                gaps.append((-abs(contribution), column))
        else:
            if contribution >= min_contribution:
                raises.append((-contribution, column))
            if -contribution >= min_contribution:
                lowers.append((contribution, column))

    def reason(column: int, direction: Direction) -> Reason:
        name = feature_names[column]
        value = values[column]
        value = None if value is None or value != value else value
        declared = registry.get(name)
        return Reason(
            feature=name,
            value=value,
            contribution=float(contributions[column]),
            direction=direction,
            sentence=_sentence(name, value, declared, language),
            factor=declared.factor if declared is not None else None,
            referral_tags=tuple(declared.referral_tags) if declared is not None else (),
        )

    def strongest(ranked: list[tuple[float, int]]) -> list[int]:
        return [column for _, column in sorted(ranked)[: max(top, 0)]]

    return RowReasons(
        risk=tuple(reason(column, "raises") for column in strongest(raises)),
        protective=tuple(reason(column, "lowers") for column in strongest(lowers)),
        context=tuple(reason(column, "context") for column in context),
        gaps=tuple(reason(column, "gap") for column in strongest(gaps)),
    )


def _select(
    explanation: Explanation, registry: Mapping[str, Feature], top: int, minimum: float
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Flat (row, column, rank, group) of the chosen cells, sorted by row, group (DIRECTIONS), rank.

    Reasons and protective factors come only from recorded values of need and
    history features; context columns are listed whole; gaps are the strongest
    missing cells (by absolute contribution).
    """
    contributions = explanation.contributions
    n_rows, n_columns = contributions.shape
    context = np.asarray(
        [name in registry and registry[name].kind == "context" for name in explanation.feature_names],
        dtype=bool,
    )
    missing = explanation.values.isna().to_numpy(dtype=bool) if n_columns else np.zeros((n_rows, 0), bool)
    reasonable = ~missing & ~context[None, :]
    picked = [
        _strongest(np.where(reasonable, contributions, -np.inf), top, minimum),
        _strongest(np.where(reasonable, -contributions, -np.inf), top, minimum),
        _all_of(context, n_rows),
        _strongest(np.where(missing & ~context[None, :], np.abs(contributions), -np.inf), top, minimum),
    ]
    rows = np.concatenate([part[0] for part in picked])
    columns = np.concatenate([part[1] for part in picked])
    ranks = np.concatenate([part[2] for part in picked])
    groups = np.concatenate(
        [np.full(part[0].size, group, dtype=np.intp) for group, part in enumerate(picked)]
    )
    order = np.lexsort((ranks, groups, rows))
    return rows[order], columns[order], ranks[order], groups[order]


def _all_of(columns: np.ndarray, n_rows: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Every row's cells in the flagged ``columns``, ranked in column order."""
    chosen = np.flatnonzero(columns)
    rows = np.repeat(np.arange(n_rows, dtype=np.intp), chosen.size)
    return rows, np.tile(chosen, n_rows).astype(np.intp), np.tile(np.arange(1, chosen.size + 1), n_rows)


def _strongest(scores: np.ndarray, top: int, minimum: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per row, the columns of the ``top`` largest scores at or above ``minimum``, largest first.

    Returns flat (row, column, rank) arrays; ties go to the earlier column (a
    stable sort: a partial one, ``argpartition``, would break ties at the cut
    arbitrarily, and the one-row path, :func:`row_reasons`, could then differ).
    """
    n_rows, n_columns = scores.shape
    k = min(top, n_columns)
    if k <= 0 or n_rows == 0:
        empty = np.empty(0, dtype=np.intp)
        return empty, empty, empty
    candidates = np.argsort(-scores, axis=1, kind="stable")[:, :k]
    kept = np.take_along_axis(scores, candidates, axis=1) >= minimum
    rows = np.broadcast_to(np.arange(n_rows)[:, None], kept.shape)[kept]
    ranks = np.broadcast_to(np.arange(1, k + 1), kept.shape)[kept]
    return rows.astype(np.intp), candidates[kept].astype(np.intp), ranks.astype(np.intp)


def _word(
    explanation: Explanation,
    rows: np.ndarray,
    columns: np.ndarray,
    registry: Mapping[str, Feature],
    language: Language,
) -> tuple[np.ndarray, np.ndarray]:
    """The value (None if missing) and sentence of each chosen cell, one feature at a time."""
    import pandas as pd

    values = np.empty(rows.size, dtype=object)
    sentences = np.empty(rows.size, dtype=object)
    by_column = np.argsort(columns, kind="stable")
    bounds = np.searchsorted(columns[by_column], np.arange(len(explanation.feature_names) + 1))
    for column, name in enumerate(explanation.feature_names):
        cells = by_column[bounds[column] : bounds[column + 1]]
        if cells.size == 0:
            continue
        picked = explanation.values.iloc[:, column].take(rows[cells]).to_numpy(dtype=object)
        picked[pd.isna(picked)] = None
        values[cells] = picked
        sentences[cells] = _sentences(name, picked, registry.get(name), language)
    return values, sentences


def _sentences(name: str, values: np.ndarray, feature: Feature | None, language: Language) -> np.ndarray:
    """One sentence per value, each distinct value worded once."""
    import pandas as pd

    codes, distinct = pd.factorize(pd.Series(values, dtype=object), use_na_sentinel=False)
    # factorize turns None back into NaN; a sentence reads either as "no data"
    texts = [_sentence(name, None if pd.isna(value) else value, feature, language) for value in distinct]
    return np.asarray(texts, dtype=object)[codes]


@lru_cache(maxsize=65_536)
def _sentence(name: str, value: Any, feature: Feature | None, language: Language) -> str:
    """The sentence for one value, each (feature, value, language) worded once per process.

    Values repeat (counts, flags, rates rounded to the percent), and wording one
    costs a translation look-up and plural rules: on the service's one-person
    path it was a third of the scoring work.
    """
    if feature is not None and not isinstance(value, str):
        return feature.reason(None if value is None else float(value), language)
    readable = name.replace("_", " ").strip()
    return PLAIN_SENTENCE[language].format(name=readable, value=_plain_value(value, language))


def _plain_value(value: Any, language: Language) -> str:
    if value is None:
        return format_value(None, "count", language)
    if isinstance(value, str):
        return value
    number = float(value)
    if number.is_integer():
        return f"{number:.0f}"
    text = f"{number:.2f}".rstrip("0").rstrip(".") if abs(number) >= 0.01 else f"{number:.2g}"
    return text.replace(".", DECIMAL_MARK[language])
