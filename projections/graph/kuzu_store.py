"""The embedded graph engine adapter: Kùzu (``kuzu`` on PyPI), a database file in DATA_DIR/graph.

Schema (Cypher property graph):

* ``Entity(id, user_id, name, type)``: the user (``USER/@user``), people, places,
  organisations, events/plans, topics, and names seen in free text; one node per user
  and normalised name, so tenants never share a node.
* ``Memory(id, user_id, kind, version, status, time)``: one node per Memory ID at its
  latest applied version (the version guard).
* ``Relation(Entity -> Entity)``: a slot relation with ``eid``, ``relation``,
  ``memory_id``, ``version``, ``slot``, ``stated`` and ``superseded`` ('' while current).
* ``Memory.entities``: the ids of the entities the memory's current version touches
  (its relations' ends and the names in its text). A list property, not edges:
  Kùzu creates a relationship at ~1-4 ms and scans both node tables when edges are
  created through UNWIND, and these links are only read through the in-memory
  mirror (``UserMirror``) that hybrid search expands over.
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


class UserMirror:
    """One user's mentions and current relations in memory, for the search path.

    Kùzu answers a few-row Cypher read in ~2 ms, and a filter over a property scans
    the table; hybrid search needs three such reads per query. So the first read for a
    user loads that user's adjacency once (three queries), and every later ``apply``
    updates the loaded mirrors from the same changes it commits: reads are dict
    lookups, and the graph in Kùzu stays the durable record.
    """

    def __init__(self) -> None:
        self.mem_entities: dict[str, tuple[str, ...]] = {}
        self.entity_mems: dict[str, dict[str, str]] = {}
        self.info: dict[str, tuple[str, str]] = {}
        self.related: dict[str, dict[str, int]] = {}

    def set_mentions(self, mid: str, eids: Sequence[str], when: str) -> None:
        for eid in self.mem_entities.pop(mid, ()):
            mems = self.entity_mems.get(eid)
            if mems is not None:
                mems.pop(mid, None)
        if eids:
            self.mem_entities[mid] = tuple(dict.fromkeys(eids))
            for eid in self.mem_entities[mid]:
                self.entity_mems.setdefault(eid, {})[mid] = when

    def relate(self, a: str, b: str, delta: int) -> None:
        for x, y in ((a, b), (b, a)):
            row = self.related.setdefault(x, {})
            row[y] = row.get(y, 0) + delta
            if row[y] <= 0:
                del row[y]

_SCHEMA = [
    "CREATE NODE TABLE IF NOT EXISTS Entity(id STRING PRIMARY KEY, user_id STRING, name STRING, type STRING)",
    "CREATE NODE TABLE IF NOT EXISTS Memory(id STRING PRIMARY KEY, user_id STRING, kind STRING, "
    "version INT64, status STRING, time STRING, entities STRING[])",
    "CREATE NODE TABLE IF NOT EXISTS Position(name STRING PRIMARY KEY, position INT64)",
    "CREATE REL TABLE IF NOT EXISTS Relation(FROM Entity TO Entity, eid STRING, relation STRING, "
    "memory_id STRING, version INT64, slot STRING, stated STRING, superseded STRING)",
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
        self.user_generation: dict[str, int] = {}
        self._mirrors: dict[str, UserMirror] = {}
        if not read_only:
            self._drop_older_schema()
            for statement in _SCHEMA:
                self.conn.execute(statement)

    def _drop_older_schema(self) -> None:
        """A graph written before ``Memory.entities`` (with ``Mentions`` edges) is dropped:
        it is a projection, so the next catch-up rebuilds it from the log (position 0)."""
        tables = {r[1] for r in self._rows("CALL show_tables() RETURN *")}
        if "Memory" not in tables:
            return
        columns = {r[1] for r in self._rows("CALL table_info('Memory') RETURN *")}
        if "entities" in columns:
            return
        for table in ("Mentions", "Relation", "Memory", "Entity", "Position"):
            if table in tables:
                self._run(f"DROP TABLE {table}")

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
                update = self._apply(changes, position)
            except BaseException:
                self._run("ROLLBACK")
                raise
            self._run("COMMIT")
            self.generation += 1
            self._update_mirrors(*update)

    def _apply(self, changes: Sequence[MemoryGraph], position: int) -> tuple[Any, ...]:
        ids = list(dict.fromkeys(c.memory_id for c in changes))
        # Lookups by primary key through UNWIND: ``WHERE m.id IN $ids`` scans the whole table.
        stored = {r[0]: int(r[1]) for r in self._rows(
            "UNWIND $ids AS i MATCH (m:Memory {id: i}) RETURN m.id, m.version", {"ids": ids})}
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
        entity_rows: list[dict[str, Any]] = []
        if entities:
            known = {r[0]: (r[1], r[2]) for r in self._rows(
                "UNWIND $ids AS i MATCH (e:Entity {id: i}) RETURN e.id, e.name, e.type", {"ids": list(entities)})}
            for eid, e in entities.items():
                name, typ = known.get(eid, (e["name"], e["type"]))
                if e.get("rename"):
                    name = e["name"]
                if TYPE_RANK.get(e["type"], 9) < TYPE_RANK.get(typ, 9):
                    typ = e["type"]
                entity_rows.append({"id": eid, "user_id": e["user_id"], "name": name, "type": typ})
            for row in entity_rows:  # one statement each (UNWIND + MERGE is slower); unchanged ones skipped
                if known.get(row["id"]) == (row["name"], row["type"]):
                    continue
                self._run("MERGE (e:Entity {id: $id}) SET e.user_id = $user_id, e.name = $name, e.type = $type", row)
        for mid, row in memories.items():
            self._run("MERGE (m:Memory {id: $id}) SET m.user_id = $user_id, m.kind = $kind, m.version = $version, "
                      "m.status = $status, m.time = $time, m.entities = $entities",
                      {**row, "entities": list(dict.fromkeys(mentions[mid]))})
        if supersede:
            # Matched from both ends: kuzu 0.11.3 mis-filters some one-sided patterns in writes
            # (a DELETE over ``WHERE m.id IN $ids`` removed other memories' edges).
            for row in supersede.values():
                self._run("MATCH (a:Entity {id: $src})-[e:Relation]->(b:Entity {id: $dst}) WHERE e.eid = $eid "
                          "SET e.superseded = $t", row)
        for row in creates.values():
            self._run("MATCH (a:Entity {id: $src}), (b:Entity {id: $dst}) "
                      "CREATE (a)-[:Relation {eid: $eid, relation: $relation, memory_id: $memory_id, "
                      "version: $version, slot: $slot, stated: $stated, superseded: $superseded}]->(b)", row)
        if position > self.position():
            self._run("MERGE (p:Position {name: $n}) SET p.position = $p", {"n": POSITION, "p": position})
        return memories, mentions, entity_rows, creates, supersede

    def _update_mirrors(self, memories: dict[str, dict[str, Any]], mentions: dict[str, list[str]],
                        entity_rows: list[dict[str, Any]], creates: dict[str, dict[str, Any]],
                        supersede: dict[str, dict[str, str]]) -> None:
        users = {m["user_id"] for m in memories.values()} | {e["user_id"] for e in entity_rows}
        for user in users:
            self.user_generation[user] = self.user_generation.get(user, 0) + 1
        owner = {mid: m["user_id"] for mid, m in memories.items()}
        for e in entity_rows:
            mirror = self._mirrors.get(e["user_id"])
            if mirror is not None:
                mirror.info[e["id"]] = (e["name"], e["type"])
        for mid, eids in mentions.items():
            mirror = self._mirrors.get(owner[mid])
            if mirror is not None:
                mirror.set_mentions(mid, eids, memories[mid]["time"])
        for c in creates.values():
            mirror = self._mirrors.get(owner.get(c["memory_id"], ""))
            if mirror is not None and not c["superseded"]:
                mirror.relate(c["src"], c["dst"], 1)
        for s in supersede.values():
            mid = s["eid"].rsplit(":", 2)[0]  # eid = memory id:version:n
            mirror = self._mirrors.get(owner.get(mid, ""))
            if mirror is not None:
                mirror.relate(s["src"], s["dst"], -1)

    def mirror(self, user_id: str) -> UserMirror:
        """The user's adjacency in memory (loaded on first use, then kept up to date)."""
        with self._lock:
            found = self._mirrors.get(user_id)
            if found is not None:
                return found
            m = UserMirror()
            for eid, name, typ in self._rows("MATCH (e:Entity {user_id: $u}) RETURN e.id, e.name, e.type",
                                             {"u": user_id}):
                m.info[eid] = (name, typ)
            for mid, when, eids in self._rows("MATCH (x:Memory {user_id: $u}) WHERE x.status = 'active' "
                                              "RETURN x.id, x.time, x.entities", {"u": user_id}):
                m.set_mentions(mid, eids or [], when)
            for a, b in self._rows("MATCH (a:Entity {user_id: $u})-[r:Relation]->(b:Entity) WHERE r.superseded = '' "
                                   "RETURN a.id, b.id", {"u": user_id}):
                m.relate(a, b, 1)
            if len(self._mirrors) >= 1024:
                self._mirrors.pop(next(iter(self._mirrors)))
            self._mirrors[user_id] = m
            return m

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
        m = self.mirror(user_id)
        return [{"id": eid, "name": name, "type": typ, "degree": len(m.entity_mems.get(eid, ()))}
                for eid, (name, typ) in m.info.items()]

    def memory_entities(self, user_id: str, memory_ids: Sequence[str]) -> dict[str, list[str]]:
        m = self.mirror(user_id)
        return {mid: list(m.mem_entities[mid]) for mid in memory_ids if mid in m.mem_entities}

    def entity_memories(self, user_id: str, entity_ids: Sequence[str], limit: int = 50) -> dict[str, list[str]]:
        m = self.mirror(user_id)
        out: dict[str, list[str]] = {}
        for eid in entity_ids:
            mems = m.entity_mems.get(eid)
            if mems:
                out[eid] = [mid for mid, _ in sorted(mems.items(), key=lambda x: (x[1], x[0]), reverse=True)[:limit]]
        return out

    def related(self, user_id: str, entity_ids: Sequence[str]) -> dict[str, list[str]]:
        m = self.mirror(user_id)
        return {eid: list(m.related[eid]) for eid in entity_ids if m.related.get(eid)}

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
        mirror = self.mirror(user_id)
        mentioned: dict[str, str] = {}
        for i in centre:
            mentioned.update(mirror.entity_mems.get(i, {}))
        return {"user_id": user_id, "centre": centre, "nodes": list(nodes.values()),
                "edges": sorted(edges.values(), key=lambda e: (e["stated"] or "", e["relation"])),
                "mentioned_by": [m for m, _ in sorted(mentioned.items(), key=lambda x: (x[1], x[0]), reverse=True)]}

    def counts(self) -> dict[str, int]:
        return {name: int(self._rows(q)[0][0] or 0) for name, q in (
            ("entities", "MATCH (e:Entity) RETURN count(e)"), ("memories", "MATCH (m:Memory) RETURN count(m)"),
            ("relations", "MATCH ()-[r:Relation]->() RETURN count(r)"),
            ("mentions", "MATCH (m:Memory) RETURN sum(size(m.entities))"))}

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
            self._mirrors.pop(user_id, None)
            self.user_generation[user_id] = self.user_generation.get(user_id, 0) + 1
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
            self._mirrors.clear()
            self.user_generation = {u: g + 1 for u, g in self.user_generation.items()}

    def close(self) -> None:
        with self._lock:
            self.conn.close()
            self.db.close()
