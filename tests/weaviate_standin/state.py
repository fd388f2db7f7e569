"""What the stand-in server holds: classes, objects, named vectors, injected faults.

One ``StandInState`` is shared by the REST and the gRPC side. Objects are kept
per class by uuid with typed properties (``datetime`` for dates) and one
float32 array per named vector; the first vector stored under a name fixes
its length, as in a real HNSW index. Filters are evaluated here with
Weaviate's semantics: text matched by tokens of the property's tokenization,
a filter on a property without a filterable index refused.
"""

from __future__ import annotations

import re
import threading
import time
from dataclasses import dataclass, field

import numpy as np

from tests.weaviate_standin.schema import TEXT_TYPES, SchemaError, coerce, complete_class

__all__ = ["Faults", "StandInState", "StoredObject", "FilterError", "tokens"]


class FilterError(ValueError):
    """A filter the server refuses (gRPC INVALID_ARGUMENT / UNKNOWN)."""


@dataclass
class Faults:
    """Fault injection; tests set these fields, the server reads them on every call."""

    delay: float = 0.0  # seconds added before every REST and gRPC answer
    rest_status: int | None = None  # every REST call answers this status (e.g. 503)
    grpc_unavailable: bool = False  # every gRPC call (health check included) fails UNAVAILABLE
    reject: dict[str, str] = field(default_factory=dict)  # object uuid -> error in an otherwise fine batch
    outage_after_batches: int | None = None  # answer this many more BatchObjects requests, then go down

    def go_down(self) -> None:
        """Switch to an outage: REST answers 503 (readiness too), every gRPC call UNAVAILABLE."""
        self.rest_status, self.grpc_unavailable = 503, True

    def come_back(self) -> None:
        """End an outage started by ``go_down`` (or by ``outage_after_batches``)."""
        self.rest_status, self.grpc_unavailable, self.outage_after_batches = None, False, None

    def clear(self) -> None:
        self.delay, self.rest_status, self.grpc_unavailable = 0.0, None, False
        self.outage_after_batches = None
        self.reject.clear()


@dataclass
class StoredObject:
    uuid: str
    properties: dict
    vectors: dict[str, np.ndarray]
    created_ms: int
    updated_ms: int


def tokens(value: str, tokenization: str) -> list[str]:
    """Tokens of ``value`` as the inverted index would hold them."""
    if tokenization == "field":
        return [value.strip()] if value.strip() else []
    if tokenization == "whitespace":
        return value.split()
    if tokenization == "lowercase":
        return value.lower().split()
    return [t for t in re.split(r"[^0-9A-Za-z]+", value.lower()) if t]


class StandInState:
    def __init__(self) -> None:
        self.lock = threading.RLock()
        self.faults = Faults()
        self.api_key: str | None = None  # when set, REST and gRPC calls need "Bearer <api_key>"
        self.calls: list[str] = []
        self.classes: dict[str, dict] = {}
        self.objects: dict[str, dict[str, StoredObject]] = {}
        self.dims: dict[tuple[str, str], int] = {}

    def reset(self) -> None:
        with self.lock:
            self.faults.clear()
            self.api_key = None
            self.calls.clear()
            self.classes.clear()
            self.objects.clear()
            self.dims.clear()

    # -- schema ----------------------------------------------------------------

    def create_class(self, body: dict) -> dict:
        completed = complete_class(body)
        with self.lock:
            if completed["class"].lower() in {c.lower() for c in self.classes}:
                raise SchemaError(f"class name {completed['class']!r} already exists")
            self.classes[completed["class"]] = completed
            self.objects[completed["class"]] = {}
        return completed

    def delete_class(self, name: str) -> None:
        with self.lock:
            self.classes.pop(name, None)
            self.objects.pop(name, None)
            for key in [k for k in self.dims if k[0] == name]:
                del self.dims[key]

    def property_types(self, class_name: str) -> dict[str, dict]:
        return {p["name"]: p for p in self.classes[class_name]["properties"]}

    # -- objects ---------------------------------------------------------------

    def put_object(self, class_name: str, object_uuid: str, properties: dict, vectors: dict[str, np.ndarray]) -> None:
        """Replace the whole object; ``SchemaError`` names what the server would refuse."""
        with self.lock:
            if class_name not in self.classes:
                raise SchemaError(f"class {class_name!r} not found in schema")
            schema = self.property_types(class_name)
            typed = {}
            for name, value in properties.items():
                if name not in schema:
                    raise SchemaError(f"no such prop with name '{name}' found in class '{class_name}' in the schema. "
                                      "Check your schema files for which properties in this class are available")
                if value is not None:
                    typed[name] = coerce(value, schema[name]["dataType"][0], name, class_name)
            configured = self.classes[class_name].get("vectorConfig", {})
            for name, vector in vectors.items():
                if name not in configured:
                    raise SchemaError(f"collection {class_name} does not have configuration for vector {name}")
                known = self.dims.get((class_name, name))
                if known is not None and known != len(vector):
                    raise SchemaError(f"new node has a vector with length {len(vector)}. "
                                      f"Existing nodes have vectors with length {known}")
            for name, vector in vectors.items():
                self.dims.setdefault((class_name, name), len(vector))
            now = int(time.time() * 1000)
            old = self.objects[class_name].get(object_uuid)
            self.objects[class_name][object_uuid] = StoredObject(
                object_uuid, typed, vectors, old.created_ms if old else now, now)

    def find(self, class_name: str, filters) -> list[StoredObject]:
        """Objects of the class matching ``filters`` (a ``base_pb2.Filters`` or None), in uuid order."""
        with self.lock:
            objects = sorted(self.objects[class_name].values(), key=lambda o: o.uuid)
            if filters is None:
                return objects
            schema = self.property_types(class_name)
            return [o for o in objects if _matches(filters, o, schema)]


# -- filters -------------------------------------------------------------------


def _target(f) -> str:
    if f.HasField("target"):
        if not f.target.property:
            raise FilterError("stand-in supports filters on properties and ids only")
        return f.target.property
    if len(f.on) != 1:
        raise FilterError("stand-in supports filters on properties and ids only")
    return f.on[0]


def _filter_values(f) -> list:
    kind = f.WhichOneof("test_value")
    if kind in ("value_text_array", "value_int_array", "value_boolean_array", "value_number_array"):
        return list(getattr(f, kind).values)
    if kind is None:
        raise FilterError("filter has no value")
    return [getattr(f, kind)]


def _matches(f, obj: StoredObject, schema: dict) -> bool:
    op = f.operator
    Op = type(f)
    if op == Op.OPERATOR_AND:
        return all(_matches(g, obj, schema) for g in f.filters)
    if op == Op.OPERATOR_OR:
        return any(_matches(g, obj, schema) for g in f.filters)
    if op == Op.OPERATOR_NOT:
        return not _matches(f.filters[0], obj, schema)
    prop = _target(f)
    if prop in ("_id", "id"):
        stored_tokens, tokenization = [obj.uuid], "field"
    else:
        if prop not in schema:
            raise FilterError(f"no such prop with name '{prop}' found in class in the schema")
        spec = schema[prop]
        if op == Op.OPERATOR_IS_NULL:
            return (obj.properties.get(prop) is None) == f.value_boolean
        if not spec.get("indexFilterable"):
            raise FilterError(f"Filtering by property '{prop}' requires inverted index. "
                              "Is `indexFilterable` option of property enabled? Set it to `true` or leave empty")
        if spec["dataType"][0] not in TEXT_TYPES:
            raise FilterError(f"stand-in filters text properties and ids only, not {spec['dataType'][0]} '{prop}'")
        value = obj.properties.get(prop)
        if value is None:
            return op == Op.OPERATOR_NOT_EQUAL
        tokenization = spec.get("tokenization") or "word"
        stored_tokens = [t for v in (value if isinstance(value, list) else [value]) for t in tokens(v, tokenization)]
    wanted_tokens = [tokens(str(w), tokenization) for w in _filter_values(f)]
    present = set(stored_tokens)

    def hit(ts):
        return bool(ts) and all(t in present for t in ts)

    if op == Op.OPERATOR_EQUAL:
        return hit(wanted_tokens[0])
    if op == Op.OPERATOR_NOT_EQUAL:
        return not hit(wanted_tokens[0])
    if op == Op.OPERATOR_CONTAINS_ANY:
        return any(hit(ts) for ts in wanted_tokens)
    if op == Op.OPERATOR_CONTAINS_ALL:
        return all(hit(ts) for ts in wanted_tokens)
    if op == Op.OPERATOR_CONTAINS_NONE:
        return not any(hit(ts) for ts in wanted_tokens)
    raise FilterError(f"stand-in does not support filter operator {Op.Operator.Name(op)}")
