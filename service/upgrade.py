"""`previ db upgrade`: bring every database of the service to its newest schema, in one call.

The service database (``service.audit_url``) gets the ``service`` migrations,
the snapshot database (``service.snapshot_url``, else SQLite in
``service.snapshot_dir``) the ``snapshots`` ones, and the rate counts (with
``rate_limit_storage: sql``) the ``rates`` ones, on whichever database holds
them. A token file of an earlier version (``service.tokens_file``) is moved
into the token table. ``previ serve`` runs this before it starts its workers,
and the quickstart before it writes anything, so a fresh machine needs no step
of its own; on a database whose owner is not the service's role, the owner
runs it (``previ db upgrade``, or ``previ audit-log grant``).
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.exc import SQLAlchemyError

from previ.errors import PreviError
from service.database import make_engine
from service.migrations import Store, upgrade
from service.rate_limits import SHARED
from service.rate_store import rates_url
from service.settings import ServiceSettings
from service.snapshots import snapshot_store
from service.tokens import TokenStore, import_token_file

__all__ = ["UpgradeReport", "upgrade_databases"]

UNREACHABLE = "db: cannot upgrade {store} at {url} ({error}: {message})"


@dataclass(frozen=True)
class UpgradeReport:
    """Per store: the database URL (password hidden) and its new head revision (empty: already current)."""

    applied: dict[Store, tuple[str, list[str]]]
    tokens_imported: int


def upgrade_databases(settings: ServiceSettings) -> UpgradeReport:
    """Upgrade every store of ``settings`` (PreviError naming the store and URL when one fails)."""
    urls: dict[Store, str] = {
        "service": settings.audit_url,
        "snapshots": snapshot_store(settings).url,
    }
    if settings.rate_limit_storage == SHARED:
        urls["rates"] = rates_url(settings.audit_url)
    applied: dict[Store, tuple[str, list[str]]] = {}
    for store, url in urls.items():
        engine = make_engine(url, fsync=settings.audit_fsync)
        shown = engine.url.render_as_string(hide_password=True)
        try:
            applied[store] = (shown, upgrade(engine, store))
        except SQLAlchemyError as error:
            message = str(getattr(error, "orig", None) or error).strip().splitlines()[0][:200]
            raise PreviError(
                UNREACHABLE.format(store=store, url=shown, error=type(error).__name__, message=message)
            ) from error
        finally:
            engine.dispose()
    engine = make_engine(settings.audit_url, fsync=settings.audit_fsync)
    try:
        imported = import_token_file(TokenStore(engine), settings.tokens_file)
    finally:
        engine.dispose()
    return UpgradeReport(applied, imported)
