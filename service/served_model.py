"""Which model every worker serves: one ``served_model`` row, followed by each worker.

Several workers each hold their own copy of the model (see
:class:`service.model_store.ModelHolder`). A reload that reaches one of them
(start-up, SIGHUP, ``POST /v1/admin/reload``) loads the registry's champion,
checks it (digest, manifest, golden predictions), records its version and
SHA-256 in the row, and only then swaps it in. Every worker polls the row
(``service.reload_poll_seconds``) and, when it names another model than the one
it serves, loads that very version, checks it the same way and swaps it in
atomically. A response is always computed wholly by one model and states that
model's version; during a roll-out, workers differ for at most one poll
interval plus a load. A model a worker refuses is not retried until the row
changes again; the worker keeps serving its model and logs why.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Column, DateTime, Engine, Integer, MetaData, String, Table, select, update
from sqlalchemy.exc import IntegrityError, SQLAlchemyError

from previ.errors import PreviError
from service.database import create_schema, reader
from service.model_store import LoadedModel, ModelHolder, Swap

__all__ = ["ModelFollower", "ServedModel", "Target"]

log = logging.getLogger("previ.service")

metadata = MetaData()
served_model_table = Table(
    "served_model",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=False),
    Column("generation", Integer, nullable=False),
    Column("version", String(64), nullable=False),
    Column("sha256", String(64), nullable=False),
    Column("source", String(500), nullable=False),
    Column("set_at", DateTime, nullable=False),
)
ROW_ID = 1
UNWRITABLE = "model: the served_model row in the service database cannot be written ({error})"
MISMATCH = "model: version {version} has SHA-256 {found}, the served_model row names {expected}"


@dataclass(frozen=True)
class Target:
    """The model the workers must serve; ``generation`` grows with every publication."""

    generation: int
    version: str
    sha256: str
    source: str


class ServedModel:
    """The ``served_model`` row (one row, id 1) in the service database."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def read(self) -> Target | None:
        """The published target, or None before any (or when the row cannot be read)."""
        try:
            create_schema(self.engine, "service")
            with reader(self.engine).connect() as connection:
                row = connection.execute(select(served_model_table)).mappings().first()
        except SQLAlchemyError as error:
            log.error("served_model row unreadable (%s)", type(error).__name__)
            return None
        if row is None:
            return None
        return Target(int(row["generation"]), str(row["version"]), str(row["sha256"]), str(row["source"]))

    def publish(self, model: LoadedModel) -> Target:
        """Name ``model`` as the one to serve (generation + 1); PreviError when the row cannot be written."""
        values: dict[str, Any] = {
            "version": model.version,
            "sha256": model.sha256,
            "source": model.source[:500],
            "set_at": dt.datetime.now(dt.UTC).replace(tzinfo=None),
        }
        try:
            create_schema(self.engine, "service")
            with self.engine.begin() as connection:
                changed = connection.execute(
                    update(served_model_table)
                    .where(served_model_table.c.id == ROW_ID)
                    .values(generation=served_model_table.c.generation + 1, **values)
                ).rowcount
                if not changed:
                    try:
                        with connection.begin_nested():
                            connection.execute(
                                served_model_table.insert().values(id=ROW_ID, generation=1, **values)
                            )
                    except IntegrityError:  # another worker inserted it first
                        connection.execute(
                            update(served_model_table)
                            .where(served_model_table.c.id == ROW_ID)
                            .values(generation=served_model_table.c.generation + 1, **values)
                        )
                generation = connection.execute(
                    select(served_model_table.c.generation).where(served_model_table.c.id == ROW_ID)
                ).scalar_one()
        except SQLAlchemyError as error:
            raise PreviError(UNWRITABLE.format(error=type(error).__name__)) from error
        return Target(int(generation), model.version, model.sha256, str(values["source"]))


class ModelFollower:
    """One worker's side: reload the champion and publish it, or follow what another worker published.

    ``load_champion()`` loads the registry's champion; ``load_version(version)``
    loads one registry version (or the configured artifact, whatever the version).
    """

    def __init__(
        self,
        holder: ModelHolder,
        served: ServedModel,
        *,
        load_champion: Callable[[], LoadedModel],
        load_version: Callable[[str], LoadedModel],
    ) -> None:
        self.holder = holder
        self.served = served
        self._load_champion = load_champion
        self._load_version = load_version
        self._refused: int | None = None

    def reload_champion(self) -> Swap:
        """Load and check the champion, publish it, then swap it in; PreviError (old model kept) otherwise."""

        def load_and_publish() -> LoadedModel:
            loaded = self._load_champion()
            self.served.publish(loaded)
            return loaded

        return self.holder.reload(load_and_publish)

    def follow(self) -> Swap | None:
        """Swap in the published model when this worker serves another one; None when nothing changed.

        A published model this worker refused once is not loaded again until
        the row changes; the refusal is logged and the current model stays.
        """
        target = self.served.read()
        current = self.holder.current
        if target is None or target.generation == self._refused:
            return None
        if current is not None and current.sha256 == target.sha256:
            return None

        def load_target() -> LoadedModel:
            loaded = self._load_version(target.version)
            if loaded.sha256 != target.sha256:
                raise PreviError(
                    MISMATCH.format(version=target.version, found=loaded.sha256, expected=target.sha256)
                )
            return loaded

        log.info("following the served model: version %s (generation %d)", target.version, target.generation)
        try:
            return self.holder.reload(load_target)
        except PreviError:
            self._refused = target.generation
            return None
