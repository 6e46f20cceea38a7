"""The model being served, and how it is replaced without a request ever seeing two.

:func:`load_model` loads the registry's ``champion`` (or ``service.model_path``)
completely: the artifact's digest (the SHA-256 of its manifest, which pins every
file) checked against the one recorded at registration, every file checked
against the manifest, its golden predictions reproduced (``load_artifact``
refuses otherwise), and the model card and fairness audit read into memory.
:class:`ModelHolder` keeps one reference to the loaded model; a reload builds
the new one beside it and then rebinds that reference in a single assignment. A
request reads the reference once, at its start, and uses that object for its
probability, reasons, version and audit entry, so during a swap every request is
served wholly by the old model or wholly by the new one, and none waits. A model
that fails to load is refused and the old one stays. The registry is read by a
child process (:mod:`service.registry_fetch`), so MLflow never enters the
serving process: the artifact itself loads with numpy and JSON.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import tempfile
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from models.artifact import ARTIFACT_FOLDER, SCORING_FILE, ScoringModel, load_artifact
from previ.config import PreviConfig
from previ.errors import PreviError
from service.registry_fetch import AUDIT_HTML, AUDIT_HTML_IN, AUDIT_JSON, CARD_FILE, fetch_champion
from service.settings import ServiceSettings

__all__ = ["LoadedModel", "ModelHolder", "Swap", "load_model"]

log = logging.getLogger("previ.service")


@dataclass(frozen=True, eq=False)
class LoadedModel:
    """A verified scoring model with what the service shows about it."""

    scoring: ScoringModel
    version: str
    sha256: str
    source: str
    card: dict[str, Any]
    audit_json: dict[str, Any] | None
    audit_html: str | None
    loaded_at: dt.datetime
    audit_html_by_language: dict[str, str] = field(default_factory=dict)

    def audit_report(self, language: str) -> str | None:
        """The fairness report in ``language`` when training wrote it, else the default one."""
        return self.audit_html_by_language.get(language) or self.audit_html


@dataclass(frozen=True)
class Swap:
    previous: LoadedModel | None
    current: LoadedModel

    @property
    def changed(self) -> bool:
        return self.previous is None or self.previous.sha256 != self.current.sha256


class ModelHolder:
    """One reference to the served model; reloads are serialised, reads never wait."""

    def __init__(
        self, loader: Callable[[], LoadedModel], *, after_swap: Callable[[], None] | None = None
    ) -> None:
        self._loader = loader
        self._after_swap = after_swap
        self._current: LoadedModel | None = None
        self._reloading = threading.Lock()
        self.last_error: str | None = None

    @property
    def current(self) -> LoadedModel | None:
        return self._current

    def reload(self, loader: Callable[[], LoadedModel] | None = None) -> Swap:
        """Load a model fully, then swap it in; on any failure keep the current one and raise PreviError.

        ``loader`` replaces the holder's own for this reload (a worker following
        another's choice loads one given version). Any exception counts as a
        refusal (a corrupt file can raise more than PreviError): a reload must
        never take the service down.
        """
        with self._reloading:
            previous = self._current
            try:
                loaded = (loader or self._loader)()
            except Exception as error:
                refused = error if isinstance(error, PreviError) else PreviError(f"model: {error!r}")
                self.last_error = str(refused)
                log.error("model refused, still serving %s: %s", _name(previous), refused)
                raise refused from error
            self._current = loaded  # the swap: one reference rebound
            self.last_error = None
            log.info("serving model %s (was %s)", loaded.version, _name(previous))
            if self._after_swap is not None:
                self._after_swap()
            return Swap(previous=previous, current=loaded)


def load_model(config: PreviConfig, settings: ServiceSettings, version: str | None = None) -> LoadedModel:
    """The champion (or ``version``) from the MLflow registry, or the artifact at ``service.model_path``."""
    if settings.model_path is not None:
        return _from_folder(settings.model_path, settings.model_sha256)
    return _from_registry(config, version)


def _from_folder(path: Path, expected_sha256: str | None) -> LoadedModel:
    folder = Path(path)
    run_folder = folder if (folder / ARTIFACT_FOLDER / SCORING_FILE).exists() else folder.parent
    artifact = folder / ARTIFACT_FOLDER if folder is run_folder else folder
    if not (artifact / SCORING_FILE).exists():
        raise PreviError(f"model: {folder} holds neither {SCORING_FILE} nor {ARTIFACT_FOLDER}/{SCORING_FILE}")
    scoring = load_artifact(artifact, expected_sha256=expected_sha256)
    return LoadedModel(
        scoring=scoring,
        version=f"local-{scoring.sha256[:12]}",
        sha256=scoring.sha256,
        source=str(artifact.absolute()),
        card=_read_json(run_folder / CARD_FILE) or {},
        audit_json=_read_json(run_folder / AUDIT_JSON),
        audit_html=_read_text(run_folder / AUDIT_HTML),
        loaded_at=dt.datetime.now(dt.UTC),
        audit_html_by_language=_reports(
            {language: run_folder / name for language, name in AUDIT_HTML_IN.items()}
        ),
    )


def _from_registry(config: PreviConfig, pinned: str | None = None) -> LoadedModel:
    with tempfile.TemporaryDirectory(prefix="previ-model-") as folder:
        fetched = fetch_champion(config.training, Path(folder), pinned)
        scoring = load_artifact(fetched.artifact, expected_sha256=fetched.sha256)
        report = fetched.reports
        return LoadedModel(
            scoring=scoring,
            version=fetched.version,
            sha256=fetched.sha256,
            source=fetched.source,
            card=_read_json(report[CARD_FILE]) or {},
            audit_json=_read_json(report[AUDIT_JSON]),
            audit_html=_read_text(report[AUDIT_HTML]),
            loaded_at=dt.datetime.now(dt.UTC),
            audit_html_by_language=_reports(
                {language: report[name] for language, name in AUDIT_HTML_IN.items()}
            ),
        )


def _reports(paths: dict[str, Path | None]) -> dict[str, str]:
    found = {language: _read_text(path) if path is not None else None for language, path in paths.items()}
    return {language: text for language, text in found.items() if text is not None}


def _read_json(path: Path | None) -> dict[str, Any] | None:
    if path is None or not path.exists():
        return None
    loaded = json.loads(path.read_text(encoding="utf-8"))
    return loaded if isinstance(loaded, dict) else {"content": loaded}


def _read_text(path: Path | None) -> str | None:
    return path.read_text(encoding="utf-8") if path is not None and path.exists() else None


def _name(model: LoadedModel | None) -> str:
    return model.version if model is not None else "nothing"
