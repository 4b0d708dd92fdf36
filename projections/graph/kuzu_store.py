"""The embedded graph engine adapter: Kùzu (``kuzu`` on PyPI), a database file in DATA_DIR/graph.

Schema (Cypher property graph):

* ``Entity(id, user_id, name, type)``: the user (``USER/@user``), people, places,
  organisations, events/plans, topics, and names seen in free text; one node per user
  and normalised name, so tenants never share a node.
* ``Memory(id, user_id, kind, version, status, time)``: one node per Memory ID at its
  latest applied version (the version guard).
* ``Relation(Entity -> Entity)``: a slot relation with ``eid``, ``relation``,
  ``memory_id``, ``version``, ``slot``, ``stated`` and ``superseded`` ('' while current).
* ``Mentions(Memory -> Entity)``: the entities the memory's current version touches.
* ``Position(name, position)``: the projection's notification position.

Exactly-once: the writes of a batch and its position commit in one transaction, and
each memory is also guarded by version, so a batch re-applied after a crash (or an
older event replayed) changes nothing.

Kùzu allows one read-write process per database (like the embedded vector index).
"""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any, Sequence

from projections.graph.relations import TYPE_RANK, entity_id
from projections.graph.store import MemoryGraph

POSITION = "projection:graph"

_SCHEMA = [
    "CREATE NODE TABLE IF NOT EXISTS Entity(id STRING PRIMARY KEY, user_id STRING, name STRING, type STRING)",
    "CREATE NODE TABLE IF NOT EXISTS Memory(id STRING PRIMARY KEY, user_id STRING, kind STRING, "
    "version INT64, status STRING, time STRING)",
    "CREATE NODE TABLE IF NOT EXISTS Position(name STRING PRIMARY KEY, position INT64)",
    "CREATE REL TABLE IF NOT EXISTS Relation(FROM Entity TO Entity, eid STRING, relation STRING, "
    "memory_id STRING, version INT64, slot STRING, stated STRING, superseded STRING)",
    "CREATE REL TABLE IF NOT EXISTS Mentions(FROM Memory TO Entity)",
]


class KuzuGraphStore:
    def __init__(self, path: Path, *, read_only: bool = False) -> None:
        import kuzu

        path = Path(path)
        if not read_only:
            path.mkdir(parents=True, exist_ok=True, mode=0o700)
        self.path = path
        self.db = kuzu.Database(str(path / "graph.kuzu"), read_only=read_only)
        self.conn = kuzu.Connection(self.db)
        self._lock = threading.RLock()
        self.generation = 0
        """Bumped by every write, so readers can cache per-user data (``GraphSearch``)."""
        if not read_only:
            for statement in _SCHEMA:
                self.conn.execute(statement)

    # -- plumbing ----------------------------------------------------------------------

    def _rows(self, query: str, params: dict[str, Any] | None = None) -> list[list[Any]]:
        with self._lock:
            result = self.conn.execute(query, params or {})
            return result.get_all()

    def _run(self, query: str, params: dict[str, Any] | None = None) -> None:
        self.conn.execute(query, params or {})

    # -- the projection's writes -------------------------------------------------------

    def position(self) -> int:
        rows = self._rows("MATCH (p:Position {name: $n}) RETURN p.position", {"n": POSITION})
        return int(rows[0][0]) if rows and rows[0][0] is not None else 0

    def apply(self, changes: Sequence[MemoryGraph], position: int) -> None:
        with self._lock:
            self._run("BEGIN TRANSACTION")
            try:
                self._apply(changes, position)
            except BaseException:
                self._run("ROLLBACK")
                raise
            self._run("COMMIT")
            self.generation += 1

    def _apply(self, changes: Sequence[MemoryGraph], position: int) -> None:
        ids = list(dict.fromkeys(c.memory_id for c in changes))
        stored = {r[0]: int(r[1]) for r in self._rows(
            "MATCH (m:Memory) WHERE m.id IN $ids RETURN m.id, m.version", {"ids": ids})}
        current: dict[str, dict[tuple[str, str, str], str]] = {i: {} for i in ids}
        for eid, mid, src, rel, dst in self._rows(
                "MATCH (a:Entity)-[r:Relation]->(b:Entity) WHERE r.memory_id IN $ids AND r.superseded = '' "
                "RETURN r.eid, r.memory_id, a.id, r.relation, b.id", {"ids": ids}):
            current[mid][(src, rel, dst)] = eid
        entities: dict[str, dict[str, Any]] = {}
        supersede: dict[str, dict[str, str]] = {}
        creates: dict[str, dict[str, Any]] = {}
        memories: dict[str, dict[str, Any]] = {}
        mentions: dict[str, list[str]] = {}
        for change in changes:
            mid = change.memory_id
            if stored.get(mid, 0) >= change.version:
                continue  # the version guard: already applied, or older than what is stored
            stored[mid] = change.version
            active = change.status == "active"
            wanted = {(r.source.id, r.relation, r.target.id): r for r in change.relations} if active else {}
            for key, eid in list(current[mid].items()):
                if key not in wanted:
                    if eid in creates:
                        creates[eid]["superseded"] = change.time
                    else:
                        supersede[eid] = {"eid": eid, "src": key[0], "dst": key[2], "t": change.time}
                    del current[mid][key]
            for n, (key, r) in enumerate(wanted.items()):
                if key in current[mid]:
                    continue
                eid = f"{mid}:{change.version}:{n}"
                creates[eid] = {"eid": eid, "src": key[0], "dst": key[2], "relation": r.relation,
                                "memory_id": mid, "version": change.version, "slot": r.slot,
                                "stated": r.stated, "superseded": ""}
                current[mid][key] = eid
                for e in (r.source, r.target):
                    self._note(entities, e.id, e.user_id, e.name, e.type)
            if active:
                for e in change.mentions:
                    self._note(entities, e.id, e.user_id, e.name, e.type)
            for name in change.user_names:
                self._note(entities, entity_id(change.user_id, name, "user"), change.user_id, name, "user",
                           rename=True)
            mentions[mid] = [e.id for e in change.mentions] if active else []
            memories[mid] = {"id": mid, "user_id": change.user_id, "kind": change.kind,
                             "version": change.version, "status": change.status, "time": change.time}
        if entities:
            known = {r[0]: (r[1], r[2]) for r in self._rows(
                "MATCH (e:Entity) WHERE e.id IN $ids RETURN e.id, e.name, e.type", {"ids": list(entities)})}
            rows = []
            for eid, e in entities.items():
                name, typ = known.get(eid, (e["name"], e["type"]))
                if e.get("rename"):
                    name = e["name"]
                if TYPE_RANK.get(e["type"], 9) < TYPE_RANK.get(typ, 9):
                    typ = e["type"]
                rows.append({"id": eid, "user_id": e["user_id"], "name": name, "type": typ})
            self._run("UNWIND $rows AS r MERGE (e:Entity {id: r.id}) "
                      "SET e.user_id = r.user_id, e.name = r.name, e.type = r.type", {"rows": rows})
        if memories:
            self._run("UNWIND $rows AS r MERGE (m:Memory {id: r.id}) SET m.user_id = r.user_id, m.kind = r.kind, "
                      "m.version = r.version, m.status = r.status, m.time = r.time", {"rows": list(memories.values())})
        if supersede:
            # Matched from both ends: kuzu 0.11.3 mis-filters some one-sided patterns in writes
            # (a DELETE over ``WHERE m.id IN $ids`` removed other memories' edges).
            self._run("UNWIND $rows AS r MATCH (a:Entity {id: r.src})-[e:Relation]->(b:Entity {id: r.dst}) "
                      "WHERE e.eid = r.eid SET e.superseded = r.t", {"rows": list(supersede.values())})
        if creates:
            self._run("UNWIND $rows AS r MATCH (a:Entity {id: r.src}), (b:Entity {id: r.dst}) "
                      "CREATE (a)-[:Relation {eid: r.eid, relation: r.relation, memory_id: r.memory_id, "
                      "version: r.version, slot: r.slot, stated: r.stated, superseded: r.superseded}]->(b)",
                      {"rows": list(creates.values())})
        if mentions:
            self._run("UNWIND $ids AS i MATCH (m:Memory {id: i})-[x:Mentions]->(:Entity) DELETE x",
                      {"ids": list(mentions)})
            rows = [{"m": mid, "e": eid} for mid, eids in mentions.items() for eid in dict.fromkeys(eids)]
            if rows:
                self._run("UNWIND $rows AS r MATCH (m:Memory {id: r.m}), (e:Entity {id: r.e}) "
                          "CREATE (m)-[:Mentions]->(e)", {"rows": rows})
        if position > self.position():
            self._run("MERGE (p:Position {name: $n}) SET p.position = $p", {"n": POSITION, "p": position})

    @staticmethod
    def _note(entities: dict[str, dict[str, Any]], eid: str, user_id: str, name: str, typ: str,
              rename: bool = False) -> None:
        seen = entities.get(eid)
        if seen is None:
            entities[eid] = {"user_id": user_id, "name": name, "type": typ, "rename": rename}
            return
        if TYPE_RANK.get(typ, 9) < TYPE_RANK.get(seen["type"], 9):
            seen["type"] = typ
        if rename:
            seen["name"], seen["rename"] = name, True

    # -- reads -------------------------------------------------------------------------

    def entities(self, user_id: str) -> list[dict[str, Any]]:
        rows = self._rows(
            "MATCH (e:Entity {user_id: $u}) OPTIONAL MATCH (m:Memory)-[:Mentions]->(e) "
            "RETURN e.id, e.name, e.type, count(m)", {"u": user_id})
        return [{"id": r[0], "name": r[1], "type": r[2], "degree": int(r[3])} for r in rows]

    def memory_entities(self, user_id: str, memory_ids: Sequence[str]) -> dict[str, list[str]]:
        out: dict[str, list[str]] = {}
        for mid, eid in self._rows(
                "MATCH (m:Memory)-[:Mentions]->(e:Entity) WHERE m.id IN $ids AND m.user_id = $u "
                "RETURN m.id, e.id", {"ids": list(memory_ids), "u": user_id}):
            out.setdefault(mid, []).append(eid)
        return out

    def entity_memories(self, user_id: str, entity_ids: Sequence[str], limit: int = 50) -> dict[str, list[str]]:
        out: dict[str, list[str]] = {}
        for eid, mid in self._rows(
                "MATCH (m:Memory)-[:Mentions]->(e:Entity) WHERE e.id IN $ids AND m.user_id = $u "
                "AND m.status = 'active' RETURN e.id, m.id ORDER BY m.time DESC, m.id",
                {"ids": list(entity_ids), "u": user_id}):
            got = out.setdefault(eid, [])
            if len(got) < limit:
                got.append(mid)
        return out

    def related(self, user_id: str, entity_ids: Sequence[str]) -> dict[str, list[str]]:
        out: dict[str, list[str]] = {}
        for a, b in self._rows(
                "MATCH (a:Entity)-[r:Relation]-(b:Entity) WHERE a.id IN $ids AND a.user_id = $u "
                "AND r.superseded = '' RETURN a.id, b.id", {"ids": list(entity_ids), "u": user_id}):
            out.setdefault(a, []).append(b)
        return out

    def neighbourhood(self, user_id: str, entity: str | None = None, hops: int = 1,
                      include_superseded: bool = False) -> dict[str, Any]:
        """The entity (by name, case-insensitive; default the user node) and the relations
        within ``hops`` of it, with the memories that state them."""
        if entity is None:
            centre = [f"{user_id}/@user"]
        else:
            centre = [r[0] for r in self._rows(
                "MATCH (e:Entity {user_id: $u}) WHERE lower(e.name) = $n OR e.id = $id RETURN e.id",
                {"u": user_id, "n": entity.strip().lower(), "id": entity_id(user_id, entity)})]
        nodes: dict[str, dict[str, Any]] = {}
        edges: dict[str, dict[str, Any]] = {}
        frontier = list(centre)
        for _ in range(max(1, hops)):
            if not frontier:
                break
            where = "" if include_superseded else " AND r.superseded = ''"
            rows = self._rows(
                "MATCH (a:Entity)-[r:Relation]->(b:Entity) WHERE (a.id IN $ids OR b.id IN $ids) "
                f"AND a.user_id = $u{where} RETURN a.id, a.name, a.type, r.relation, b.id, b.name, b.type, "
                "r.memory_id, r.version, r.stated, r.superseded, r.eid", {"ids": frontier, "u": user_id})
            nxt = []
            for a, an, at, rel, b, bn, bt, mid, ver, stated, sup, eid in rows:
                for i, n, t in ((a, an, at), (b, bn, bt)):
                    if i not in nodes:
                        nodes[i] = {"id": i, "name": n, "type": t}
                        nxt.append(i)
                edges[eid] = {"source": a, "relation": rel, "target": b, "memory_id": mid, "version": ver,
                              "stated": stated, "superseded": sup or None}
            frontier = [i for i in nxt if i not in centre]
        for i in centre:
            if i not in nodes:
                found = self._rows("MATCH (e:Entity {id: $id}) RETURN e.name, e.type", {"id": i})
                if found:
                    nodes[i] = {"id": i, "name": found[0][0], "type": found[0][1]}
        if centre:
            mentioned = self._rows(
                "MATCH (m:Memory)-[:Mentions]->(e:Entity) WHERE e.id IN $ids AND m.status = 'active' "
                "RETURN e.id, m.id ORDER BY m.time DESC", {"ids": centre})
        else:
            mentioned = []
        return {"user_id": user_id, "centre": centre, "nodes": list(nodes.values()),
                "edges": sorted(edges.values(), key=lambda e: (e["stated"] or "", e["relation"])),
                "mentioned_by": [m for _, m in mentioned]}

    def counts(self) -> dict[str, int]:
        return {name: int(self._rows(q)[0][0]) for name, q in (
            ("entities", "MATCH (e:Entity) RETURN count(e)"), ("memories", "MATCH (m:Memory) RETURN count(m)"),
            ("relations", "MATCH ()-[r:Relation]->() RETURN count(r)"),
            ("mentions", "MATCH ()-[r:Mentions]->() RETURN count(r)"))}

    # -- removal -----------------------------------------------------------------------

    def forget_user(self, user_id: str) -> int:
        with self._lock:
            self._run("BEGIN TRANSACTION")
            try:
                n = self._rows("MATCH (e:Entity {user_id: $u}) RETURN count(e)", {"u": user_id})[0][0]
                m = self._rows("MATCH (m:Memory {user_id: $u}) RETURN count(m)", {"u": user_id})[0][0]
                self._run("MATCH (m:Memory {user_id: $u}) DETACH DELETE m", {"u": user_id})
                self._run("MATCH (e:Entity {user_id: $u}) DETACH DELETE e", {"u": user_id})
            except BaseException:
                self._run("ROLLBACK")
                raise
            self._run("COMMIT")
            self.generation += 1
            return int(n) + int(m)

    def clear(self) -> None:
        with self._lock:
            self._run("BEGIN TRANSACTION")
            try:
                for q in ("MATCH (m:Memory) DETACH DELETE m", "MATCH (e:Entity) DETACH DELETE e",
                          "MATCH (p:Position) DELETE p"):
                    self._run(q)
            except BaseException:
                self._run("ROLLBACK")
                raise
            self._run("COMMIT")
            self.generation += 1

    def close(self) -> None:
        with self._lock:
            self.conn.close()
            self.db.close()
