"""``WeaviateStore``: the production vector store, one Weaviate collection.

One object per case, uuid5 of the case id, the 44 fields and the lineage
properties, named vectors ``primary`` and ``fallback`` (self-provided, HNSW,
cosine; see ``blocks.weaviate_schema``). Writes go through the client's
fixed-size batch API with several requests in flight; each object the server
rejects is reported as failed, every other one as succeeded.

Every operation first probes readiness and raises ``StoreUnavailable`` when
Weaviate is unreachable, answers 5xx or is slower than ``init_timeout``
(``blocks.weaviate_connection``). A server that goes down during a write
raises ``StoreUnavailable`` too, after ``batch_retries`` retries of the batch
request (the client's own default sleeps for about half an hour, then reports
every object failed without raising). Arrow conversions live in
``blocks.weaviate_objects``, the collection definition in
``blocks.weaviate_schema``. The SDK (weaviate-client v4) is imported lazily.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

import numpy as np
import pyarrow as pa
from pydantic import Field, PrivateAttr, SecretStr, model_validator

from blocks.errors import StoreSchemaMismatch, StoreUnavailable
from blocks.vector_store import SearchHit, UpsertResult, VectorStore, vector_column
from blocks.weaviate_connection import ConnectionSettings, WeaviateConnection
from blocks.weaviate_objects import PROPERTIES_SCHEMA, objects_to_table, prepare_objects, search_properties
from blocks.weaviate_schema import (
    COLLECTION_PROPERTIES,
    HnswSettings,
    configured_properties,
    configured_vectors,
    create_collection,
    property_differences,
    sizes_from_description,
    vector_differences,
)
from schemas.ids import object_uuids

__all__ = ["WeaviateStore"]

_ID_CHUNK = 1_000  # ids per fetch / delete request (a real server caps results at 10,000)
_PAGE_MAX = 10_000
_NAMES = [p.name for p in COLLECTION_PROPERTIES]


def _bound_batch_retries(retries: int) -> None:
    """Make the client give up a batch request after ``retries`` UNAVAILABLE answers.

    weaviate-client reads its batch retry bound from the module global
    ``weaviate.collections.batch.base.MAX_RETRIES`` at every request (set from
    ``WEAVIATE_BATCH_MAX_RETRIES`` at import; default about half an hour of
    sleeping against a dead server, after which it reports every object failed
    without raising). It retries while ``attempt > bound`` is false, so
    ``retries`` retries are the bound ``retries - 1``. The setting is per
    process: every store in a process should use the same value.
    """
    from weaviate.collections.batch import base

    base.MAX_RETRIES = float(retries - 1)


class WeaviateStore(VectorStore):
    """Weaviate (self-hosted or Weaviate Cloud) as the vector store, through weaviate-client v4.

    Example:
        ```python
        from blocks.weaviate_store import WeaviateStore

        with WeaviateStore.load("production") as store:
            store.ensure_schema({"primary": 3072, "fallback": 768})
            result = store.upsert(objects)
        ```
    """

    _block_type_name = "Weaviate Vector Store"
    _description = "Weaviate collection with named vectors, written through the v4 client's batch API."

    http_host: str = Field(default="127.0.0.1", description="REST host of a self-hosted Weaviate.")
    http_port: int = Field(default=8080, ge=1, le=65535, description="REST port.")
    http_secure: bool = Field(default=False, description="Use HTTPS for REST.")
    grpc_host: str | None = Field(default=None, description="gRPC host; defaults to http_host.")
    grpc_port: int = Field(default=50051, ge=1, le=65535, description="gRPC port.")
    grpc_secure: bool = Field(default=False, description="Use TLS for gRPC.")
    cluster_url: str | None = Field(
        default=None,
        description="Weaviate Cloud cluster URL; when set, the host and port fields are ignored.",
    )
    api_key: SecretStr | None = Field(
        default=None, description="Weaviate API key (required with cluster_url; the config file gives api_key_env)."
    )
    headers: dict[str, str] = Field(
        default_factory=dict, description="Extra headers sent with every REST and gRPC request."
    )
    init_timeout: float = Field(default=5.0, gt=0, description="Seconds for connecting and readiness probes.")
    query_timeout: float = Field(default=30.0, gt=0, description="Seconds for a query, count or fetch.")
    insert_timeout: float = Field(default=90.0, gt=0, description="Seconds for one batch request or delete.")
    collection: str = Field(
        default="CaseVectorized", pattern=r"^[A-Z][_0-9A-Za-z]*$", description="Collection holding one object per case."
    )
    batch_size: int = Field(default=200, ge=1, description="Objects per batch request.")
    concurrent_requests: int = Field(default=2, ge=1, le=10, description="Batch requests in flight at once.")
    batch_retries: int = Field(
        default=5, ge=0, le=12,
        description=("Retries of one batch request the server answers UNAVAILABLE, with exponential sleeps "
                     "(1, 2, 4 ... s: 5 retries wait about a minute); then the write raises StoreUnavailable. "
                     "The client's own default waits about half an hour."),
    )
    hnsw_ef: int = Field(default=-1, ge=-1, description="HNSW query-time ef (-1: dynamic), per named vector.")
    hnsw_ef_construction: int = Field(default=128, ge=4, description="HNSW efConstruction, per named vector.")
    hnsw_max_connections: int = Field(default=32, ge=4, description="HNSW maxConnections, per named vector.")

    _conn: WeaviateConnection | None = PrivateAttr(default=None)
    _lock: Any = PrivateAttr(default_factory=threading.Lock)
    _sizes: dict[str, int] | None = PrivateAttr(default=None)

    @model_validator(mode="after")
    def _cloud_needs_key(self) -> "WeaviateStore":
        if self.cluster_url and self.api_key is None:
            raise ValueError("cluster_url needs api_key (api_key_env in the configuration file)")
        return self

    # -- connection ------------------------------------------------------------

    def _connection(self) -> WeaviateConnection:
        with self._lock:
            if self._conn is None:
                settings = ConnectionSettings(
                    http_host=self.http_host, http_port=self.http_port, http_secure=self.http_secure,
                    grpc_host=self.grpc_host, grpc_port=self.grpc_port, grpc_secure=self.grpc_secure,
                    cluster_url=self.cluster_url, headers=dict(self.headers),
                    api_key=self.api_key.get_secret_value() if self.api_key else None,
                    init_timeout=self.init_timeout, query_timeout=self.query_timeout,
                    insert_timeout=self.insert_timeout,
                )
                self._conn = WeaviateConnection(settings, f"collection {self.collection!r} at {settings.rest_url}")
            return self._conn

    @property
    def _where(self) -> str:
        return self._connection().label

    def _calling(self, action: str):
        """Probe readiness, then a context yielding the collection handle (outages -> ``StoreUnavailable``)."""
        return self._connection().calling(action, self.collection)

    def close(self) -> None:
        with self._lock:
            if self._conn is not None:
                self._conn.close()
            self._conn = None
            self._sizes = None

    def is_healthy(self) -> bool:
        try:
            self._connection().probe()
            return True
        except StoreUnavailable:
            return False

    # -- schema ----------------------------------------------------------------

    def _read_config(self) -> Any | None:
        """The collection configuration, or None if the collection does not exist."""
        client = self._connection().client()
        if not client.collections.exists(self.collection):
            return None
        return client.collections.use(self.collection).config.get()

    def _stored_sizes(self) -> dict[str, int] | None:
        """Vector sizes recorded in the collection; None if the collection does not exist."""
        if self._sizes is None:
            config = self._read_config()
            if config is None:
                return None
            self._sizes = sizes_from_description(config.description)
        return self._sizes

    def _require_sizes(self) -> dict[str, int]:
        sizes = self._stored_sizes()
        if sizes is None:
            raise StoreSchemaMismatch(f"{self._where} does not exist; call ensure_schema() first")
        return sizes

    def ensure_schema(self, vector_sizes: Mapping[str, int | None]) -> None:
        """Create the collection if missing; otherwise compare it and change nothing.

        Every property and every sized vector must exist with the expected settings
        and recorded size. Named vectors ``vector_sizes`` does not size are left alone.
        """
        sizes = {}
        for name, size in vector_sizes.items():
            if size is not None and size < 0:
                raise ValueError(f"vector {name!r}: size must be positive, got {size}")
            if size:
                sizes[name] = int(size)
        hnsw = HnswSettings(self.hnsw_ef, self.hnsw_ef_construction, self.hnsw_max_connections)
        with self._calling("check the collection"):
            self._sizes = None
            config = self._read_config()
            if config is None:
                config = self._create(sizes, hnsw)
            recorded = sizes_from_description(config.description)
            differences = property_differences(configured_properties(config)) + vector_differences(
                sizes, configured_vectors(config), recorded, hnsw
            )
        if differences:
            raise StoreSchemaMismatch(f"{self._where} differs from the requested schema: " + "; ".join(differences))
        self._sizes = recorded

    def _create(self, sizes: Mapping[str, int], hnsw: HnswSettings) -> Any:
        from weaviate.exceptions import UnexpectedStatusCodeError

        client = self._connection().client()
        try:
            create_collection(client, self.collection, sizes, hnsw)
        except UnexpectedStatusCodeError as exc:
            if exc.status_code >= 500:
                raise  # an outage: reported as StoreUnavailable
            if not client.collections.exists(self.collection):
                raise StoreSchemaMismatch(f"Weaviate refused to create {self._where}: {exc}") from exc
            # created concurrently by another process: compare that one
        return self._read_config()

    # -- writes ----------------------------------------------------------------

    def upsert(self, objects: pa.Table) -> UpsertResult:
        """Validate per object, then write the valid ones with the batch API (whole-object replacement).

        Raises ``TypeError``/``ValueError`` for a malformed table, ``StoreSchemaMismatch``
        if the collection does not exist and ``StoreUnavailable`` if Weaviate is not ready.
        """
        with self._calling("write objects") as collection:
            sizes = self._require_sizes()
            if objects.num_rows == 0:
                return UpsertResult()
            prepared = prepare_objects(objects, sizes)
            result = prepared.result
            if not prepared.rows:
                return result
            rejected = self._send(collection, prepared.rows)
        for row in prepared.rows:
            if row.uuid in rejected:
                message = rejected[row.uuid][:300]
                result.failed.append((row.case_id, f"case {row.case_id}: Weaviate rejected the object: {message}"))
            else:
                result.succeeded.append(row.case_id)
        return result

    def _send(self, collection: Any, rows: list) -> dict[str, str]:
        """Write ``rows`` with the batch API; returns uuid -> message for every object Weaviate rejected.

        The client holds a batch that is not full for a second, waiting for more
        objects; so the full batches of ``batch_size`` go in one batch run (with
        ``concurrent_requests`` in flight) and the rest in a second run as one full batch.
        """
        rejected: dict[str, str] = {}
        full = len(rows) - len(rows) % self.batch_size
        _bound_batch_retries(self.batch_retries)
        for part, size in ((rows[:full], self.batch_size), (rows[full:], len(rows) - full)):
            if not part:
                continue
            with collection.batch.fixed_size(batch_size=size, concurrent_requests=self.concurrent_requests) as batch:
                for row in part:
                    batch.add_object(properties=row.properties, uuid=row.uuid, vector=row.vectors or None)
            failures = collection.batch.failed_objects
            if failures:
                # The client reports a request that failed in transport (server down
                # after its retries, timeout) like objects the server rejected, with
                # nothing but a message. Tell them apart by asking the server: if it
                # is not ready now, this was an outage (the probe raises
                # StoreUnavailable) and nothing of this call is confirmed.
                self._connection().probe()
            for error in failures:
                rejected.setdefault(str(error.object_.uuid), error.message)
        return rejected

    def delete(self, case_ids: Sequence[str]) -> int:
        """Delete in chunks with ``delete_many`` on ``case_id``; returns how many objects existed."""
        from weaviate.classes.query import Filter

        ids = list(dict.fromkeys(case_ids))
        with self._calling("delete objects") as collection:
            if not ids or self._stored_sizes() is None:
                return 0
            deleted = 0
            for start in range(0, len(ids), _ID_CHUNK):
                chunk = ids[start : start + _ID_CHUNK]
                outcome = collection.data.delete_many(where=Filter.by_property("case_id").contains_any(chunk))
                deleted += outcome.successful
            return deleted

    # -- reads -----------------------------------------------------------------

    def count(self) -> int:
        with self._calling("count objects") as collection:
            if self._stored_sizes() is None:
                return 0
            return int(collection.aggregate.over_all(total_count=True).total_count or 0)

    def fetch(self, case_ids: Sequence[str]) -> pa.Table:
        """Properties of the stored objects among ``case_ids``, ordered by case id."""
        return self._fetch(case_ids, PROPERTIES_SCHEMA, include_vector=False)

    def vector_lengths(self, case_ids: Sequence[str]) -> pa.Table:
        """``case_id`` plus one int32 column ``vector_<name>`` per recorded vector (null when absent)."""
        with self._calling("read the collection"):
            sizes = self._stored_sizes() or {}
        schema = pa.schema([("case_id", pa.string())] + [(vector_column(n), pa.int32()) for n in sizes])
        return self._fetch(case_ids, schema, include_vector=True)

    def _fetch(self, case_ids: Sequence[str], schema: pa.Schema, include_vector: bool) -> pa.Table:
        ids = list(dict.fromkeys(case_ids))
        found = []
        with self._calling("fetch objects") as collection:
            if self._stored_sizes() is None:
                return schema.empty_table()
            names = ["case_id"] if include_vector else _NAMES
            for start in range(0, len(ids), _ID_CHUNK):
                uuids = object_uuids(ids[start : start + _ID_CHUNK])
                reply = collection.query.fetch_objects_by_ids(
                    uuids, limit=len(uuids), return_properties=names, include_vector=include_vector
                )
                found.extend(reply.objects)
        return objects_to_table(found, schema).sort_by("case_id")

    def iter_checksums(self, batch_size: int = 10_000) -> Iterator[pa.RecordBatch]:
        """Stream ``case_id``, ``checksum`` with the cursor iterator, batches of at most ``batch_size``."""
        if batch_size < 1:
            raise ValueError(f"batch_size must be at least 1, got {batch_size}")
        schema = pa.schema([("case_id", pa.string()), ("checksum", pa.string())])
        with self._calling("list objects") as collection:
            if self._stored_sizes() is None:
                return
            pending: list = []
            for obj in collection.iterator(return_properties=["case_id", "checksum"],
                                           cache_size=min(batch_size, _PAGE_MAX)):
                pending.append(obj)
                if len(pending) == batch_size:
                    yield objects_to_table(pending, schema).to_batches()[0]
                    pending = []
            if pending:
                yield objects_to_table(pending, schema).to_batches()[0]

    def search(self, vector: np.ndarray, target_vector: str, k: int = 10) -> list[SearchHit]:
        """Top ``k`` by cosine similarity (1 - distance) on the named vector ``target_vector``."""
        from weaviate.classes.query import MetadataQuery

        with self._calling("search") as collection:
            query = self._query_vector(vector, target_vector)
            if k < 1:
                return []
            reply = collection.query.near_vector(
                near_vector=query.tolist(), target_vector=target_vector, limit=int(k),
                return_metadata=MetadataQuery(distance=True), return_properties=_NAMES,
            )
        return [SearchHit(o.properties["case_id"], 1.0 - float(o.metadata.distance), search_properties(o))
                for o in reply.objects]

    def hybrid_search(
        self, text: str, vector: np.ndarray, target_vector: str, k: int = 10, alpha: float = 0.5
    ) -> list[SearchHit]:
        """BM25 over the searchable properties fused with ``near_vector`` on ``target_vector``.

        ``alpha`` weighs the vector side (1: vector only, 0: keywords only); the
        score is Weaviate's fused score (relative-score fusion by default), not a similarity.
        """
        from weaviate.classes.query import MetadataQuery

        if not 0 <= alpha <= 1:
            raise ValueError(f"alpha must be between 0 and 1, got {alpha}")
        with self._calling("search") as collection:
            query = self._query_vector(vector, target_vector)
            if k < 1:
                return []
            reply = collection.query.hybrid(
                query=text, vector=query.tolist(), target_vector=target_vector,
                alpha=alpha, limit=int(k), return_metadata=MetadataQuery(score=True), return_properties=_NAMES,
            )
        return [SearchHit(o.properties["case_id"], float(o.metadata.score), search_properties(o))
                for o in reply.objects]

    def _query_vector(self, vector: np.ndarray, target_vector: str) -> np.ndarray:
        sizes = self._require_sizes()
        if target_vector not in sizes:
            raise ValueError(f"{self._where} has no vector {target_vector!r} (vectors: {sorted(sizes)})")
        query = np.asarray(vector, dtype=np.float32).ravel()
        if query.shape != (sizes[target_vector],):
            raise ValueError(
                f"query vector for {target_vector!r}: expected length {sizes[target_vector]}, got {query.shape[0]}"
            )
        if not np.isfinite(query).all() or not query.any():
            raise ValueError(f"query vector for {target_vector!r} must be finite and not all zeros")
        return query

