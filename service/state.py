"""Everything a request may touch, built once per app and kept on ``app.state.previ``."""

from __future__ import annotations

from dataclasses import dataclass

from previ.config import PreviConfig
from service.audit_log import AuditLog
from service.caseload import CaseloadStore
from service.catalog import Catalog
from service.model_store import ModelHolder
from service.pseudonym import Pseudonymizer
from service.rate_limits import RateGuard
from service.refusals import RefusalCounter
from service.served_model import ModelFollower
from service.settings import ServiceSettings
from service.snapshots import SnapshotStore
from service.tokens import TokenStore


@dataclass(frozen=True, eq=False)
class ServiceState:
    config: PreviConfig
    settings: ServiceSettings
    holder: ModelHolder
    audit: AuditLog
    tokens: TokenStore
    pseudonymize: Pseudonymizer
    catalog: Catalog
    snapshots: SnapshotStore
    caseload: CaseloadStore
    rate: RateGuard
    refusals: RefusalCounter
    follower: ModelFollower

    def close(self) -> None:
        """Close every pooled database connection (at shutdown), and the rate counts' lease thread."""
        self.rate.close()
        for engine in {self.audit.engine, self.snapshots.engine, *self.rate.engines()}:
            engine.dispose()
