"""The PostgreSQL side of the event store, imported only for a ``postgresql://`` URL
(``adapters.event_store.POSTGRES_FACTORY``): psycopg costs about 0.15 s of imports, which every
command on the default SQLite store used to pay."""

from __future__ import annotations

from typing import Any, Sequence

from eventsourcing.persistence import StoredEvent
from eventsourcing.postgres import PostgresFactory, PostgresProcessRecorder

from adapters.event_store import _sealing_mapper
from adapters.keys import KeyStore, PostgresKeyStore
from adapters.recorders import _more


class PostgresBatchProcessRecorder(PostgresProcessRecorder):
    def _insert_events(self, curs: Any, stored_events: Sequence[StoredEvent], **kwargs: Any) -> None:
        for tracking in _more(kwargs):
            self._insert_tracking(curs, tracking=tracking)
        super()._insert_events(curs, stored_events, **kwargs)


class PostgresStoreFactory(PostgresFactory):
    """PostgreSQL with batch tracking."""

    process_recorder_class = PostgresBatchProcessRecorder

    def key_store(self) -> KeyStore:
        """The users' data keys, in the event store's schema (adapters/keys.py)."""
        if getattr(self, "_keys", None) is None:
            self._keys = PostgresKeyStore(self.datastore)
        return self._keys  # type: ignore[return-value]

    def mapper(self, transcoder: Any = None, mapper_class: Any = None) -> Any:
        return _sealing_mapper(self, transcoder, mapper_class)
