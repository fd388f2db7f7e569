"""Collection definitions as a Weaviate server keeps them: defaults filled in, values typed.

``complete_class`` turns the body of ``POST /v1/schema`` into what
``GET /v1/schema/{Class}`` returns (a real server fills in every default the
client reads back). ``coerce`` checks one property value against its data
type the way the server does on insert, casting integers that arrive as
doubles (JSON and ``google.protobuf.Struct`` have no integer type).
"""

from __future__ import annotations

import copy
import datetime as dt
import re
import uuid

__all__ = ["SchemaError", "complete_class", "coerce", "format_date", "TEXT_TYPES"]

TEXT_TYPES = {"text", "text[]"}
_RANGE_TYPES = {"int", "number", "date"}
_TYPES = {"text", "int", "number", "boolean", "date", "uuid"}
_TOKENIZATIONS = {"word", "lowercase", "whitespace", "field", "trigram", "gse", "kagome_kr", "kagome_ja"}
_NAME = re.compile(r"^[_A-Za-z][_0-9A-Za-z]{0,230}$")
_CLASS = re.compile(r"^[A-Z][_0-9A-Za-z]{0,254}$")
_PROPERTY_KEYS = {"name", "dataType", "description", "tokenization", "indexFilterable", "indexSearchable",
                  "indexRangeFilters", "nestedProperties", "moduleConfig"}

HNSW_DEFAULTS = {
    "skip": False, "cleanupIntervalSeconds": 300, "maxConnections": 32, "efConstruction": 128, "ef": -1,
    "dynamicEfMin": 100, "dynamicEfMax": 500, "dynamicEfFactor": 8, "vectorCacheMaxObjects": 1000000000000,
    "flatSearchCutoff": 40000, "distance": "cosine", "filterStrategy": "acorn",
    "pq": {"enabled": False, "bitCompression": False, "segments": 0, "centroids": 256, "trainingLimit": 100000,
           "encoder": {"type": "kmeans", "distribution": "log-normal"}},
    "bq": {"enabled": False},
    "sq": {"enabled": False, "trainingLimit": 100000, "rescoreLimit": 20},
    "rq": {"enabled": False, "bits": 8, "rescoreLimit": 20},
    "multivector": {"enabled": False, "aggregation": "maxSim",
                    "muvera": {"enabled": False, "ksim": 4, "dprojections": 16, "repetitions": 10}},
}
_CLASS_DEFAULTS = {
    "invertedIndexConfig": {
        "bm25": {"b": 0.75, "k1": 1.2}, "cleanupIntervalSeconds": 60,
        "stopwords": {"preset": "en", "additions": None, "removals": None},
        "indexNullState": False, "indexPropertyLength": False, "indexTimestamps": False, "usingBlockMaxWAND": True,
    },
    "multiTenancyConfig": {"enabled": False, "autoTenantCreation": False, "autoTenantActivation": False},
    "replicationConfig": {"factor": 1, "asyncEnabled": False, "deletionStrategy": "NoAutomatedResolution"},
    "shardingConfig": {"virtualPerPhysical": 128, "desiredCount": 1, "actualCount": 1, "desiredVirtualCount": 128,
                       "actualVirtualCount": 128, "key": "_id", "strategy": "hash", "function": "murmur3"},
}


class SchemaError(ValueError):
    """The server would answer 422 (or reject one object of a batch) with this message."""


def _merge(defaults: dict, given: dict | None) -> dict:
    out = copy.deepcopy(defaults)
    for key, value in (given or {}).items():
        out[key] = _merge(out[key], value) if isinstance(value, dict) and isinstance(out.get(key), dict) else value
    return out


def _complete_property(prop: dict, class_name: str) -> dict:
    name = prop.get("name", "")
    if not _NAME.match(name) or name in {"id", "_id", "_additional"}:
        raise SchemaError(f"'{name}' is not a valid property name")
    types = prop.get("dataType") or []
    if len(types) != 1 or types[0].removesuffix("[]") not in _TYPES:
        raise SchemaError(f"property '{name}': invalid dataType {types}")
    data_type = types[0]
    out = {k: v for k, v in prop.items() if k in _PROPERTY_KEYS}
    is_text = data_type in TEXT_TYPES
    out.setdefault("indexFilterable", True)
    out.setdefault("indexSearchable", is_text)
    out.setdefault("indexRangeFilters", False)
    if is_text:
        out.setdefault("tokenization", "word")
        if out["tokenization"] not in _TOKENIZATIONS:
            raise SchemaError(f"property '{name}': unknown tokenization '{out['tokenization']}'")
    else:
        if out.get("tokenization"):
            raise SchemaError(f"Tokenization is not allowed for data type '{data_type}'")
        if out["indexSearchable"]:
            raise SchemaError(f"`indexSearchable` is not allowed for other than text/text[] data types "
                              f"(property '{name}' of class '{class_name}')")
        out.pop("tokenization", None)
    if out["indexRangeFilters"] and data_type not in _RANGE_TYPES:
        raise SchemaError(f"`indexRangeFilters` is allowed only for int/number/date data types (property '{name}')")
    return out


def complete_class(body: dict) -> dict:
    """The class as the server stores and returns it; raises ``SchemaError`` for what it refuses."""
    name = body.get("class", "")
    if name[:1].islower():
        name = name[:1].upper() + name[1:]
    if not _CLASS.match(name):
        raise SchemaError(f"'{body.get('class')}' is not a valid class name")
    out = _merge(_CLASS_DEFAULTS, {k: v for k, v in body.items() if k in _CLASS_DEFAULTS})
    out["class"] = name
    if body.get("description"):
        out["description"] = body["description"]
    props = [_complete_property(p, name) for p in body.get("properties") or []]
    seen = [p["name"].lower() for p in props]
    if len(set(seen)) != len(seen):
        raise SchemaError(f"class '{name}' has duplicate property names")
    out["properties"] = props
    if body.get("vectorConfig"):
        vectors = {}
        for vname, vcfg in body["vectorConfig"].items():
            index_type = vcfg.get("vectorIndexType") or "hnsw"
            if index_type != "hnsw":
                raise SchemaError(f"stand-in supports only hnsw vector indexes, not '{index_type}'")
            vectors[vname] = {
                "vectorizer": vcfg.get("vectorizer") or {"none": {}},
                "vectorIndexType": index_type,
                "vectorIndexConfig": _merge(HNSW_DEFAULTS, vcfg.get("vectorIndexConfig")),
            }
        out["vectorConfig"] = vectors
    else:
        out["vectorizer"] = body.get("vectorizer") or "none"
        out["vectorIndexType"] = body.get("vectorIndexType") or "hnsw"
        out["vectorIndexConfig"] = _merge(HNSW_DEFAULTS, body.get("vectorIndexConfig"))
    return out


def _parse_date(value) -> dt.datetime:
    if not isinstance(value, str):
        raise ValueError
    text = value.replace("Z", "+00:00").replace("z", "+00:00")
    parsed = dt.datetime.fromisoformat(re.sub(r"(\.\d{6})\d+", r"\1", text))
    if parsed.tzinfo is None:
        raise ValueError
    return parsed.astimezone(dt.timezone.utc)


def format_date(value: dt.datetime) -> str:
    """RFC3339 with the fraction trimmed, as Go's ``time.RFC3339Nano`` prints it."""
    fraction = f".{value.microsecond:06d}".rstrip("0").rstrip(".")
    return value.strftime("%Y-%m-%dT%H:%M:%S") + fraction + "Z"


def _scalar(value, base: str, prop: str, class_name: str):
    what = {"text": "a string", "int": "an integer", "number": "a number", "boolean": "a boolean",
            "date": "a string with a RFC3339 formatted date", "uuid": "a string with a uuid"}[base]
    try:
        if base == "text" and isinstance(value, str):
            return value
        if base == "int" and isinstance(value, (int, float)) and not isinstance(value, bool) and value == int(value):
            return int(value)
        if base == "number" and isinstance(value, (int, float)) and not isinstance(value, bool):
            return float(value)
        if base == "boolean" and isinstance(value, bool):
            return value
        if base == "date":
            return _parse_date(value)
        if base == "uuid" and isinstance(value, str):
            return str(uuid.UUID(value))
    except ValueError:
        pass
    raise SchemaError(f"invalid {base} property '{prop}' on class '{class_name}': requires {what}, "
                      f"but the given value has type {type(value).__name__}")


def coerce(value, data_type: str, prop: str, class_name: str):
    """``value`` stored as ``data_type``; ``SchemaError`` with the server's wording if it does not fit."""
    if data_type.endswith("[]"):
        if not isinstance(value, list):
            raise SchemaError(f"invalid {data_type} property '{prop}' on class '{class_name}': not a list")
        return [_scalar(v, data_type[:-2], prop, class_name) for v in value]
    return _scalar(value, data_type, prop, class_name)
