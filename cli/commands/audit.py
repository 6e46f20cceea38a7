"""``previ audit``: a fairness audit of any scored table (CSV or Parquet)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from cli.commands import console, handles_errors, split_list
from previ.config import load_config
from previ.errors import PreviError

if TYPE_CHECKING:
    from fairness_audits.rules import Rule
    from fairness_audits.texts import Lang

RULE_MISSING = "give a decision rule: --threshold T or --top-k K"
RULE_BOTH = "give either --threshold or --top-k, not both"
TOP_K_NOT_NUMBER = "--top-k must be a number (a count such as 500, or a fraction such as 0.1); got {value!r}"
TOLERANCE_FORMAT = "--tolerance must be two numbers LOW,HIGH such as 0.8,1.25; got {value!r}"
REFERENCE_FORMAT = "--reference must look like COLUMN=VALUE (e.g. municipality=Tlalpan); got {value!r}"
LANG_UNKNOWN = "--lang must be es or en; got {value!r}"


def register(app: typer.Typer) -> None:
    """Add ``previ audit`` to the previ app."""
    app.command("audit")(audit_command)


@handles_errors
def audit_command(
    input: Annotated[Path, typer.Option("--input", help="CSV or Parquet file, one row per person.")],
    label: Annotated[str, typer.Option(help="Outcome column: 1 (or --positive) means a support need.")],
    score: Annotated[str, typer.Option(help="Score column; higher means more need.")],
    groups: Annotated[str, typer.Option(help="Group columns, comma-separated (e.g. municipality,sex).")],
    out: Annotated[Path, typer.Option(help="Folder for audit.json and report.html.")],
    threshold: Annotated[float | None, typer.Option(help="Refer scores >= T.")] = None,
    top_k: Annotated[
        str | None,
        typer.Option("--top-k", help="Refer the K highest scores: a count, or a fraction in (0, 1)."),
    ] = None,
    reference: Annotated[
        list[str] | None,
        typer.Option(
            help="Compare reported disparities with COLUMN=VALUE (repeatable); default: the whole population."
        ),
    ] = None,
    champion: Annotated[
        str | None,
        typer.Option(help="Score column of the current champion: gate recall as 'no worse than today'."),
    ] = None,
    positive: Annotated[
        str | None, typer.Option(help="Label value meaning a support need (e.g. Sí).")
    ] = None,
    lang: Annotated[
        str | None, typer.Option(help="Report language: es or en (default: config language).")
    ] = None,
    tolerance: Annotated[str, typer.Option(help="Tolerance band for ratios, LOW,HIGH.")] = "0.8,1.25",
    resamples: Annotated[int, typer.Option(help="Bootstrap resamples for the 95% intervals.")] = 1000,
    seed: Annotated[int, typer.Option(help="Seed: same seed, same result.")] = 0,
    min_n: Annotated[int, typer.Option(help="Smaller groups are not judged.")] = 30,
    min_positives: Annotated[int, typer.Option(help="Groups with fewer positives are not judged.")] = 5,
    max_ece: Annotated[float, typer.Option(help="Reported beside each group's ECE.")] = 0.1,
    fdr: Annotated[
        float, typer.Option("--fdr", help="False discovery rate of the gate (Benjamini-Hochberg).")
    ] = 0.05,
    config: Annotated[
        Path | None, typer.Option(help="previ.yaml (default: ./previ.yaml if present).")
    ] = None,
) -> None:
    """Audit a score for fairness by group: does it mean the same for every group, and who is reached?

    Writes DIR/audit.json (every number) and DIR/report.html (self-contained),
    both or neither, and prints the gate's decision. Exit code 0 whether or not
    the gate passes; 2 on bad input, with one line per problem.
    """
    from fairness_audits import audit, read_table, write_report

    settings = load_config(config)
    language = _language(lang if lang is not None else settings.language)
    rule = _rule(threshold, top_k)
    frame = read_table(input)
    result = audit(
        frame,
        label=label,
        score=score,
        groups=split_list(groups),
        rule=rule,
        positive=positive,
        reference=_references(reference or []),
        champion=champion,
        tolerance=_tolerance(tolerance),
        false_discovery_rate=fdr,
        min_n=min_n,
        min_positives=min_positives,
        max_ece=max_ece,
        resamples=resamples,
        seed=seed,
    )
    json_path, html_path = write_report(result, out, lang=language)
    gate = result.gate
    verdict = "passed" if gate.passed else f"failed ({len(gate.flagged)} of {gate.judged} checks flagged)"
    console.print(
        f"audit: {result.n:,} rows, {len(result.groups)} groups; gate {verdict}; "
        f"{len(gate.not_judged)} checks not judged",
        markup=False,
        soft_wrap=True,
    )
    for finding in gate.flagged:
        check = finding.check
        low, high = check.estimate.ci
        console.print(
            f"  flagged: {check.check} ({check.measure}) {finding.column}={finding.value}: "
            f"{check.estimate.value:.2f} ({low:.2f}-{high:.2f}), adjusted p {check.p_adjusted:.2g}",
            markup=False,
            soft_wrap=True,
        )
    console.print(f"wrote {json_path} and {html_path}", markup=False, soft_wrap=True)


def _rule(threshold: float | None, top_k: str | None) -> Rule:
    from fairness_audits.rules import Threshold, TopK

    if threshold is None and top_k is None:
        raise PreviError(RULE_MISSING)
    if threshold is not None and top_k is not None:
        raise PreviError(RULE_BOTH)
    if threshold is not None:
        return Threshold(threshold)
    assert top_k is not None
    try:
        return TopK(float(top_k))
    except ValueError as error:
        raise PreviError(TOP_K_NOT_NUMBER.format(value=top_k)) from error


def _tolerance(value: str) -> tuple[float, float]:
    parts = split_list(value)
    try:
        low, high = (float(part) for part in parts)
    except ValueError as error:
        raise PreviError(TOLERANCE_FORMAT.format(value=value)) from error
    return low, high


def _references(values: list[str]) -> dict[str, str]:
    references = {}
    for value in values:
        column, separator, group = value.partition("=")
        if not separator or not column.strip() or not group.strip():
            raise PreviError(REFERENCE_FORMAT.format(value=value))
        references[column.strip()] = group.strip()
    return references


def _language(value: str) -> Lang:
    if value == "es":
        return "es"
    if value == "en":
        return "en"
    raise PreviError(LANG_UNKNOWN.format(value=value))
