"""True programme effects of the synthetic world: what ``previ evaluate`` must recover.

A programme lowers the monthly hazard of the adverse outcome of the young
person it serves by a relative amount fixed at enrolment::

    r = clip(low + (high - low) * clip(need / NEED_FULL, 0, 1) + younger * (AGE_PIVOT - age), 0, 0.9)

``low`` and ``high`` are the programme's reductions at need 0 and at need
``NEED_FULL`` (mentoring cuts the hazard by a quarter for high need and by
almost nothing for low need); ``younger`` adds to it for each year of age under
``AGE_PIVOT``. The reduction runs for ``months`` months from the month after
enrolment; a drop-out keeps only ``dropout_retention`` of it. Completion and
drop-out also move the need itself (the ``program_completion`` and
``program_dropout`` components of :mod:`synthetic._model`), scaled by
``completion_feed`` and ``dropout_feed``.

``none`` is a world where programmes do nothing at all: no hazard reduction
and no feed of completion or drop-out into the need, so any effect an
estimator finds is bias.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import yaml

from previ.errors import PreviError
from synthetic._world import PROGRAMS, FloatArray, IntArray

NEED_FULL = 1.2  # need at which a programme reaches its ``high`` reduction
AGE_PIVOT = 16.0
MAX_REDUCTION = 0.9
PROGRAM_NAMES = tuple(program.name for program in PROGRAMS)

# (low, high) relative reductions of the monthly hazard, by programme.
DEFAULT_REDUCTIONS = {
    "tutoria_academica": (0.04, 0.18),
    "mentoria": (0.02, 0.28),
    "deporte_y_cultura": (0.03, 0.12),
    "apoyo_familiar": (0.05, 0.25),
    "mediacion_restaurativa": (0.04, 0.24),
    "prevencion_adicciones": (0.03, 0.22),
    "reinsercion_escolar": (0.05, 0.20),
}
DEFAULT_SETTINGS: dict[str, float] = {
    "younger": 0.02,
    "months": 12,
    "dropout_retention": 0.3,
    "completion_feed": 1.0,
    "dropout_feed": 1.0,
}
SETTING_RANGES = {
    "younger": (0.0, 0.2),
    "months": (1, 60),
    "dropout_retention": (0.0, 1.0),
    "completion_feed": (0.0, 2.0),
    "dropout_feed": (0.0, 2.0),
}


@dataclass(frozen=True)
class ProgramEffects:
    """The declared effects, one entry of ``low``/``high`` per programme (PROGRAMS order)."""

    name: str
    low: FloatArray
    high: FloatArray
    younger: float
    months: int
    dropout_retention: float
    completion_feed: float
    dropout_feed: float

    def reduction(self, program: IntArray, need: FloatArray, age: FloatArray) -> FloatArray:
        """Relative hazard reduction for people enrolling in ``program`` (indices into PROGRAMS)."""
        share = np.clip(need / NEED_FULL, 0.0, 1.0)
        low, high = self.low[program], self.high[program]
        value = low + (high - low) * share + self.younger * (AGE_PIVOT - age)
        declared = (low > 0.0) | (high > 0.0)  # a programme without an effect gets none at any age
        return np.asarray(np.where(declared, np.clip(value, 0.0, MAX_REDUCTION), 0.0))

    def describe(self) -> dict[str, Any]:
        """The declaration as written in the manifest (and accepted back from a YAML file)."""
        return {
            "name": self.name,
            "programs": {
                name: {"low": float(low), "high": float(high)}
                for name, low, high in zip(PROGRAM_NAMES, self.low, self.high, strict=True)
            },
            "younger": self.younger,
            "months": self.months,
            "dropout_retention": self.dropout_retention,
            "completion_feed": self.completion_feed,
            "dropout_feed": self.dropout_feed,
        }


def load_effects(spec: str) -> ProgramEffects:
    """``default``, ``none`` or the path of a YAML file with ``programs`` and optional settings.

    A YAML file lists ``programs: {name: {low: x, high: y}}`` (programmes left
    out have no effect) and may override ``younger``, ``months``,
    ``dropout_retention``, ``completion_feed`` and ``dropout_feed``. Raises
    PreviError naming the field for anything unknown or out of range.
    """
    if spec == "default":
        programs = {name: {"low": low, "high": high} for name, (low, high) in DEFAULT_REDUCTIONS.items()}
        return _build("default", {"programs": programs})
    if spec == "none":
        zero = {"younger": 0.0, "dropout_retention": 0.0, "completion_feed": 0.0, "dropout_feed": 0.0}
        return _build("none", {"programs": {}, **zero})
    path = Path(spec)
    if not path.is_file():
        raise PreviError(f"program_effects: '{spec}' is neither default, none nor a YAML file")
    try:
        declared = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as error:
        raise PreviError(f"program_effects: {path.name} is not valid YAML ({error})") from error
    if not isinstance(declared, dict):
        raise PreviError(f"program_effects: {path.name} must be a mapping with a 'programs' key")
    return _build(str(path), declared)


def _build(name: str, declared: dict[str, Any]) -> ProgramEffects:
    problems = []
    unknown = sorted(set(declared) - {"programs", "name", *DEFAULT_SETTINGS})
    problems += [f"program_effects: unknown key '{key}'" for key in unknown]
    programs = declared.get("programs") or {}
    if not isinstance(programs, dict):
        raise PreviError("program_effects.programs: expected a mapping of programme -> {low, high}")
    low, high = np.zeros(len(PROGRAMS)), np.zeros(len(PROGRAMS))
    for program, values in programs.items():
        if program not in PROGRAM_NAMES:
            problems.append(
                f"program_effects.programs: unknown programme '{program}'; expected some of: "
                + ", ".join(PROGRAM_NAMES)
            )
            continue
        if not isinstance(values, dict) or set(values) - {"low", "high"}:
            problems.append(f"program_effects.programs.{program}: expected {{low: x, high: y}}")
            continue
        index = PROGRAM_NAMES.index(program)
        for field, target in (("low", low), ("high", high)):
            value = values.get(field, 0.0)
            if not isinstance(value, int | float) or not 0.0 <= value <= MAX_REDUCTION:
                problems.append(
                    f"program_effects.programs.{program}.{field}: {value!r} is not a number in [0, 0.9]"
                )
            else:
                target[index] = float(value)
    settings = dict(DEFAULT_SETTINGS)
    for key, (lowest, highest) in SETTING_RANGES.items():
        if key in declared:
            value = declared[key]
            if not isinstance(value, int | float) or not lowest <= value <= highest:
                problems.append(f"program_effects.{key}: {value!r} is not a number in [{lowest}, {highest}]")
            else:
                settings[key] = float(value)
    if problems:
        raise PreviError(*problems)
    return ProgramEffects(
        name=name,
        low=low,
        high=high,
        younger=settings["younger"],
        months=int(settings["months"]),
        dropout_retention=settings["dropout_retention"],
        completion_feed=settings["completion_feed"],
        dropout_feed=settings["dropout_feed"],
    )
