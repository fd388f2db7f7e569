"""The gRPC side of the stand-in: ``weaviate.v1.Weaviate`` and the health check.

Built on the servicer base and messages weaviate-client ships in
``weaviate.proto.v1``. Implemented: ``Search`` (filters, ``after`` cursor,
limit/offset with the server's default limit of 10, ``near_vector`` and
``hybrid`` on one named vector, requested properties and metadata),
``BatchObjects`` (per-object errors), ``BatchDelete`` (filters, dry run) and
``Aggregate`` (object count). Anything else answers UNIMPLEMENTED, as the
base servicer does.
"""

from __future__ import annotations

import struct
import time
import uuid as uuid_lib

import grpc
import numpy as np
from google.protobuf import json_format, struct_pb2
from weaviate.proto.v1 import (
    aggregate_pb2,
    base_pb2,
    batch_delete_pb2,
    batch_pb2,
    health_weaviate_pb2,
    properties_pb2,
    search_get_pb2,
    weaviate_pb2_grpc,
)

from tests.weaviate_standin.schema import TEXT_TYPES, SchemaError, format_date
from tests.weaviate_standin.state import FilterError, StandInState, StoredObject, tokens

__all__ = ["WeaviateService", "health_handler", "QUERY_DEFAULTS_LIMIT", "QUERY_MAXIMUM_RESULTS"]

QUERY_DEFAULTS_LIMIT = 10
QUERY_MAXIMUM_RESULTS = 10_000


def _floats(data: bytes) -> np.ndarray:
    return np.frombuffer(data, dtype="<f4").astype(np.float32)


def _cosine_distance(a: np.ndarray, b: np.ndarray) -> float:
    denominator = float(np.linalg.norm(a) * np.linalg.norm(b))
    return 1.0 - (float(np.dot(a, b)) / denominator if denominator else 0.0)


_SCALAR_FIELDS = {"text": "text_value", "int": "int_value", "number": "number_value", "boolean": "bool_value",
                  "uuid": "uuid_value"}


def _value(stored, data_type: str) -> properties_pb2.Value:
    """One property value in the shape a 1.27+ server answers (integers as int_value, dates as strings)."""
    P = properties_pb2
    if stored is None:
        return P.Value(null_value=struct_pb2.NULL_VALUE)
    base = data_type.removesuffix("[]")
    if not data_type.endswith("[]"):
        if base == "date":
            return P.Value(date_value=format_date(stored))
        return P.Value(**{_SCALAR_FIELDS[base]: stored})
    if base == "int":
        listed = P.ListValue(int_values=P.IntValues(values=struct.pack(f"<{len(stored)}q", *stored)))
    elif base == "number":
        listed = P.ListValue(number_values=P.NumberValues(values=struct.pack(f"<{len(stored)}d", *stored)))
    elif base == "date":
        listed = P.ListValue(date_values=P.DateValues(values=[format_date(d) for d in stored]))
    else:
        kind = {"text": ("text_values", P.TextValues), "boolean": ("bool_values", P.BoolValues),
                "uuid": ("uuid_values", P.UuidValues)}[base]
        listed = P.ListValue(**{kind[0]: kind[1](values=stored)})
    return P.Value(list_value=listed)


def _batch_properties(p: batch_pb2.BatchObject.Properties) -> dict:
    props = json_format.MessageToDict(p.non_ref_properties) if p.HasField("non_ref_properties") else {}
    for a in p.text_array_properties:
        props[a.prop_name] = list(a.values)
    for a in p.int_array_properties:
        props[a.prop_name] = list(a.values)
    for a in p.boolean_array_properties:
        props[a.prop_name] = list(a.values)
    for a in p.number_array_properties:
        props[a.prop_name] = np.frombuffer(a.values_bytes, "<f8").tolist() if a.values_bytes else list(a.values)
    for name in p.empty_list_props:
        props[name] = []
    if p.single_target_ref_props or p.multi_target_ref_props or p.object_properties or p.object_array_properties:
        raise SchemaError("stand-in does not support references or object properties")
    return props


def _query_vector(msg, target: str) -> np.ndarray | None:
    """The query vector of a NearVector (or Hybrid) message for ``target``, in any encoding the client uses."""
    for entry in getattr(msg, "vector_for_targets", []):
        if entry.name == target:
            return _floats(entry.vectors[0].vector_bytes if entry.vectors else entry.vector_bytes)
    if target in getattr(msg, "vector_per_target", {}):
        return _floats(msg.vector_per_target[target])
    if msg.vectors:
        return _floats(msg.vectors[0].vector_bytes)
    if msg.vector_bytes:
        return _floats(msg.vector_bytes)
    if msg.vector:
        return np.asarray(msg.vector, dtype=np.float32)
    return None


class WeaviateService(weaviate_pb2_grpc.WeaviateServicer):
    def __init__(self, state: StandInState) -> None:
        self.state = state

    def _enter(self, context, name: str) -> None:
        self.state.calls.append(f"grpc {name}")
        if name == "BatchObjects":
            self._count_down_to_outage()
        if self.state.faults.grpc_unavailable:
            context.abort(grpc.StatusCode.UNAVAILABLE, "stand-in: injected outage")
        if self.state.faults.delay:
            time.sleep(self.state.faults.delay)
        sent = dict(context.invocation_metadata()).get("authorization")
        if self.state.api_key and sent != f"Bearer {self.state.api_key}":
            context.abort(grpc.StatusCode.UNAUTHENTICATED,
                          "anonymous access not enabled, please provide an auth scheme")

    def _count_down_to_outage(self) -> None:
        """``faults.outage_after_batches``: an outage that starts in the middle of a load."""
        faults = self.state.faults
        with self.state.lock:
            if faults.outage_after_batches is None:
                return
            if faults.outage_after_batches <= 0:
                faults.go_down()
            else:
                faults.outage_after_batches -= 1

    def _class(self, context, name: str) -> dict:
        cls = self.state.classes.get(name)
        if cls is None:
            context.abort(grpc.StatusCode.UNKNOWN, f"could not find class {name} in schema")
        return cls

    def _find(self, context, name: str, request) -> list[StoredObject]:
        try:
            return self.state.find(name, request.filters if request.HasField("filters") else None)
        except FilterError as exc:
            context.abort(grpc.StatusCode.UNKNOWN, str(exc))

    def _target(self, context, cls: dict, msg) -> str:
        names = list(msg.targets.target_vectors) or list(msg.target_vectors)
        configured = cls.get("vectorConfig", {})
        if not names and len(configured) == 1:
            names = list(configured)
        if len(names) != 1:
            context.abort(grpc.StatusCode.UNKNOWN, "multiple target vectors: exactly one target vector is required "
                                                   f"(collection has {sorted(configured)})")
        if names[0] not in configured:
            context.abort(grpc.StatusCode.UNKNOWN, f"target vector {names[0]!r} not found in collection")
        return names[0]

    # -- Search ------------------------------------------------------------------

    def Search(self, request: search_get_pb2.SearchRequest, context) -> search_get_pb2.SearchReply:
        self._enter(context, "Search")
        start = time.perf_counter()
        cls = self._class(context, request.collection)
        searching = request.HasField("near_vector") or request.HasField("hybrid_search")
        if request.after and (searching or request.HasField("filters") or request.offset):
            context.abort(grpc.StatusCode.UNKNOWN, "explorer: cursor api: invalid 'after' parameter: "
                                                   "other params cannot be set along with after")
        limit = request.limit or QUERY_DEFAULTS_LIMIT
        if request.offset + limit > QUERY_MAXIMUM_RESULTS:
            context.abort(grpc.StatusCode.UNKNOWN, f"query maximum results exceeded ({QUERY_MAXIMUM_RESULTS})")
        found = self._find(context, request.collection, request)
        scored: list[tuple[StoredObject, dict]]
        if request.HasField("near_vector"):
            scored = self._near_vector(context, cls, request.near_vector, found)
        elif request.HasField("hybrid_search"):
            scored = self._hybrid(context, cls, request.hybrid_search, found)
        else:
            if request.after:
                found = [o for o in found if o.uuid > request.after]
            scored = [(o, {}) for o in found]
        page = scored[request.offset : request.offset + limit]
        schema = {p["name"]: p["dataType"][0] for p in cls["properties"]}
        results = [self._result(request, schema, obj, extra) for obj, extra in page]
        return search_get_pb2.SearchReply(took=time.perf_counter() - start, results=results)

    def _near_vector(self, context, cls, msg, found) -> list[tuple[StoredObject, dict]]:
        target = self._target(context, cls, msg)
        query = _query_vector(msg, target)
        if query is None:
            context.abort(grpc.StatusCode.UNKNOWN, "near_vector without a vector")
        hits = []
        for obj in found:
            vector = obj.vectors.get(target)
            if vector is None:
                continue
            if len(vector) != len(query):
                context.abort(grpc.StatusCode.UNKNOWN, f"vector search: knn search: distance between entrypoint "
                                                       f"and query node: vector lengths don't match: "
                                                       f"{len(vector)} vs {len(query)}")
            distance = _cosine_distance(vector, query)
            if msg.HasField("distance") and distance > msg.distance:
                continue
            if msg.HasField("certainty") and 1 - distance / 2 < msg.certainty:
                continue
            hits.append((obj, {"distance": distance}))
        return sorted(hits, key=lambda h: h[1]["distance"])

    def _hybrid(self, context, cls, msg, found) -> list[tuple[StoredObject, dict]]:
        """Relative-score fusion of a token-overlap keyword score and cosine similarity."""
        alpha = msg.alpha_param if msg.use_alpha_param else msg.alpha
        props = {p["name"]: p for p in cls["properties"]
                 if p["dataType"][0] in TEXT_TYPES and p.get("indexSearchable")}
        if msg.properties:
            props = {name: props[name] for name in msg.properties if name in props}
        query_tokens = set(tokens(msg.query, "word"))
        target = query = None
        if cls.get("vectorConfig") and (msg.HasField("near_vector") or msg.vector_bytes or msg.vectors or msg.vector):
            named_in = msg if (msg.targets.target_vectors or msg.target_vectors) else msg.near_vector
            target = self._target(context, cls, named_in)
            query = _query_vector(msg.near_vector if msg.HasField("near_vector") else msg, target)
        keyword, vector = {}, {}
        for obj in found:
            words = set()
            for name, spec in props.items():
                value = obj.properties.get(name)
                for v in (value if isinstance(value, list) else [value] if value is not None else []):
                    words.update(tokens(v, spec.get("tokenization", "word")))
            overlap = len(query_tokens & words)
            if overlap:
                keyword[obj.uuid] = float(overlap)
            if query is not None and target in obj.vectors:
                vector[obj.uuid] = 1.0 - _cosine_distance(obj.vectors[target], query)

        def normalized(scores: dict) -> dict:
            if not scores:
                return {}
            low, high = min(scores.values()), max(scores.values())
            return {k: (v - low) / (high - low) if high > low else 1.0 for k, v in scores.items()}

        kw, vec = normalized(keyword), normalized(vector)
        by_uuid = {o.uuid: o for o in found}
        fused = {u: alpha * vec.get(u, 0.0) + (1 - alpha) * kw.get(u, 0.0) for u in set(kw) | set(vec)}
        ranked = sorted(fused.items(), key=lambda item: (-item[1], item[0]))
        return [(by_uuid[u], {"score": s}) for u, s in ranked]

    def _result(self, request, schema: dict, obj: StoredObject, extra: dict) -> search_get_pb2.SearchResult:
        md_req = request.metadata
        md = search_get_pb2.MetadataResult(id=obj.uuid, id_as_bytes=uuid_lib.UUID(obj.uuid).bytes)
        if md_req.creation_time_unix:
            md.creation_time_unix, md.creation_time_unix_present = obj.created_ms, True
        if md_req.last_update_time_unix:
            md.last_update_time_unix, md.last_update_time_unix_present = obj.updated_ms, True
        if "distance" in extra and (md_req.distance or md_req.certainty):
            md.distance, md.distance_present = extra["distance"], md_req.distance
            md.certainty, md.certainty_present = 1 - extra["distance"] / 2, md_req.certainty
        if "score" in extra and md_req.score:
            md.score, md.score_present = extra["score"], True
        names = list(md_req.vectors) or (list(obj.vectors) if md_req.vector else [])
        for name in names:
            if name in obj.vectors:
                md.vectors.append(base_pb2.Vectors(name=name, vector_bytes=obj.vectors[name].astype("<f4").tobytes(),
                                                   type=base_pb2.Vectors.VECTOR_TYPE_SINGLE_FP32))
        every = request.properties.return_all_nonref_properties or not request.HasField("properties")
        wanted = list(schema) if every else [p for p in request.properties.non_ref_properties if p in schema]
        props = properties_pb2.Properties(
            fields={name: _value(obj.properties.get(name), schema[name]) for name in wanted})
        return search_get_pb2.SearchResult(metadata=md, properties=search_get_pb2.PropertiesResult(
            non_ref_props=props, target_collection=request.collection))

    # -- writes ------------------------------------------------------------------

    def BatchObjects(self, request: batch_pb2.BatchObjectsRequest, context) -> batch_pb2.BatchObjectsReply:
        self._enter(context, "BatchObjects")
        start = time.perf_counter()
        errors = []
        for index, obj in enumerate(request.objects):
            try:
                object_uuid = str(uuid_lib.UUID(obj.uuid))
                if object_uuid in self.state.faults.reject:
                    raise SchemaError(self.state.faults.reject[object_uuid])
                if obj.vector_bytes or obj.vector:
                    raise SchemaError("collection uses named vectors: an unnamed vector cannot be stored")
                vectors = {v.name: _floats(v.vector_bytes) for v in obj.vectors}
                self.state.put_object(obj.collection, object_uuid, _batch_properties(obj.properties), vectors)
            except (SchemaError, ValueError) as exc:
                errors.append(batch_pb2.BatchObjectsReply.BatchError(index=index, error=str(exc)))
        return batch_pb2.BatchObjectsReply(took=time.perf_counter() - start, errors=errors)

    def BatchDelete(self, request: batch_delete_pb2.BatchDeleteRequest, context) -> batch_delete_pb2.BatchDeleteReply:
        self._enter(context, "BatchDelete")
        start = time.perf_counter()
        self._class(context, request.collection)
        with self.state.lock:
            matched = self._find(context, request.collection, request)[:QUERY_MAXIMUM_RESULTS]
            if not request.dry_run:
                for obj in matched:
                    self.state.objects[request.collection].pop(obj.uuid, None)
        objects = [batch_delete_pb2.BatchDeleteObject(uuid=uuid_lib.UUID(o.uuid).bytes, successful=not request.dry_run)
                   for o in matched] if request.verbose else []
        return batch_delete_pb2.BatchDeleteReply(
            took=time.perf_counter() - start, matches=len(matched), failed=0,
            successful=0 if request.dry_run else len(matched), objects=objects)

    def Aggregate(self, request: aggregate_pb2.AggregateRequest, context) -> aggregate_pb2.AggregateReply:
        self._enter(context, "Aggregate")
        start = time.perf_counter()
        self._class(context, request.collection)
        if request.aggregations or request.HasField("group_by"):
            context.abort(grpc.StatusCode.UNIMPLEMENTED, "stand-in aggregates the object count only")
        count = len(self._find(context, request.collection, request))
        return aggregate_pb2.AggregateReply(
            took=time.perf_counter() - start,
            single_result=aggregate_pb2.AggregateReply.Single(objects_count=count if request.objects_count else 0))


def health_handler(state: StandInState) -> grpc.GenericRpcHandler:
    """``grpc.health.v1.Health/Check`` with Weaviate's messages (what the client pings)."""
    Response = health_weaviate_pb2.WeaviateHealthCheckResponse

    def check(request, context):
        state.calls.append("grpc Health/Check")
        if state.faults.grpc_unavailable:
            context.abort(grpc.StatusCode.UNAVAILABLE, "stand-in: injected outage")
        if state.faults.delay:
            time.sleep(state.faults.delay)
        return Response(status=Response.SERVING)

    return grpc.method_handlers_generic_handler("grpc.health.v1.Health", {
        "Check": grpc.unary_unary_rpc_method_handler(
            check,
            request_deserializer=health_weaviate_pb2.WeaviateHealthCheckRequest.FromString,
            response_serializer=Response.SerializeToString,
        ),
    })
