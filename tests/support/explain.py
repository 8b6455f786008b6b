"""Whether the server answers a query through an index, read from the server's own query plan.

Works on both servers the tests run on, through the ``explain`` command:

- MongoDB returns its winning plan (``queryPlanner.winningPlan``), a tree of stages: IXSCAN
  (IDHACK or EXPRESS_IXSCAN for an ``_id`` lookup) reads an index, COLLSCAN does not.
- FerretDB v1 on PostgreSQL returns PostgreSQL's plan of the SQL it would run
  (``queryPlanner.Plan``, a tree of nodes with ``Plans`` below them): an Index Scan, Index Only
  Scan or Bitmap Index Scan node reads an index, a Seq Scan does not. Only the filters FerretDB
  hands to PostgreSQL are in that SQL (top-level equality on scalars); it applies the rest itself.

Use it to assert that a hot query is served by an index: ``assert indexes_used(collection, filter)``.
"""
from __future__ import annotations

from typing import Any, Iterator, Mapping

from pymongo.collection import Collection

MONGODB_INDEX_STAGES = {"IXSCAN", "IDHACK", "EXPRESS_IXSCAN"}
POSTGRESQL_INDEX_NODES = {"Index Scan", "Index Only Scan", "Bitmap Index Scan"}


def explain(collection: Collection, filter: Mapping[str, Any]) -> dict:
    """The server's query plan for ``collection.find(filter)``, without running the query."""
    return collection.database.command(
        "explain", {"find": collection.name, "filter": dict(filter)}, verbosity="queryPlanner"
    )["queryPlanner"]


def indexes_used(collection: Collection, filter: Mapping[str, Any]) -> list[str]:
    """The names of the indexes that the plan of ``find(filter)`` reads; [] when it scans."""
    planner = explain(collection, filter)
    if not planner:  # FerretDB, for a collection that does not exist
        return []
    if "winningPlan" in planner:
        return [
            stage.get("indexName", "_id_")
            for stage in _nodes(planner["winningPlan"])
            if stage.get("stage") in MONGODB_INDEX_STAGES
        ]
    if "Plan" in planner:
        return [node["Index Name"] for node in _nodes(planner["Plan"]) if node.get("Node Type") in POSTGRESQL_INDEX_NODES]
    raise AssertionError(f"a query plan of an unknown shape (neither MongoDB's nor PostgreSQL's): {planner}")


def uses_index(collection: Collection, filter: Mapping[str, Any]) -> bool:
    return bool(indexes_used(collection, filter))


def _nodes(tree: Any) -> Iterator[Mapping[str, Any]]:
    """Every mapping in a plan tree, whatever the keys that hold its children."""
    if isinstance(tree, Mapping):
        yield tree
        for value in tree.values():
            yield from _nodes(value)
    elif isinstance(tree, list):
        for value in tree:
            yield from _nodes(value)
