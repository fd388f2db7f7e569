"""The Weaviate collection of ``WeaviateStore``: its definition, and how an existing one is compared.

Every property derives from ``schemas.fields``:

==============  =============  ============  ==========  ==========
kind            data type      tokenization  filterable  searchable
==============  =============  ============  ==========  ==========
key             text / text[]  field         yes         yes
picklist        text / text[]  field         yes         yes
text (not V)    text / text[]  word          yes         yes
text (V)        text / text[]  word          no          yes
date            date           -             yes (range) no
==============  =============  ============  ==========  ==========

Keys and picklists match whole values (``field``: ``status == "Closed"``,
``case_id`` exactly, case-sensitive); free text is tokenized for BM25.
Embedded free text (V) is searched, not filtered, which spares its filter
index. Lineage properties: ``checksum``, ``run_id``, ``primary_model`` and
``fallback_model`` are ``field``-tokenized filterable text, not searched;
``source_last_modified`` is a date.

Named vectors are self-provided (no vectorizer), HNSW with cosine distance.
Weaviate keeps no vector length in a collection, so the lengths are recorded
in the collection description (``vector sizes: fallback=768, primary=3072``):
that is how a second process, or ``ensure_schema`` with other sizes, knows them.

Comparison works on plain data (``PropertySpec`` and settings dicts); the
SDK is imported only inside ``create_collection``.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from schemas.fields import FIELDS, LINEAGE_PROPERTIES

__all__ = [
    "PropertySpec",
    "HnswSettings",
    "COLLECTION_PROPERTIES",
    "PROPERTY_BY_NAME",
    "describe_sizes",
    "sizes_from_description",
    "property_differences",
    "vector_differences",
    "create_collection",
    "configured_properties",
    "configured_vectors",
]


@dataclass(frozen=True)
class PropertySpec:
    """One property as Weaviate reports it in a collection configuration."""

    name: str
    data_type: str  # "text", "text[]", "date"
    tokenization: str | None
    filterable: bool
    searchable: bool
    range_filters: bool = False


@dataclass(frozen=True)
class HnswSettings:
    """The vector-index settings ``WeaviateStore`` configures (and checks) for every named vector."""

    ef: int
    ef_construction: int
    max_connections: int
    distance: str = "cosine"


def _field_property(spec) -> PropertySpec:
    if spec.kind == "date":
        return PropertySpec(spec.property, "date[]" if spec.is_list else "date", None, True, False, True)
    data_type = "text[]" if spec.is_list else "text"
    if spec.kind in ("key", "picklist"):
        return PropertySpec(spec.property, data_type, "field", True, True)
    return PropertySpec(spec.property, data_type, "word", not spec.embedded, True)


def _lineage_property(name: str) -> PropertySpec:
    if name == "source_last_modified":
        return PropertySpec(name, "date", None, True, False, True)
    return PropertySpec(name, "text", "field", True, False)


#: Every property of the collection, in object-table order (44 fields, then lineage).
COLLECTION_PROPERTIES: tuple[PropertySpec, ...] = tuple(
    [_field_property(f) for f in FIELDS] + [_lineage_property(p) for p in LINEAGE_PROPERTIES]
)
PROPERTY_BY_NAME: dict[str, PropertySpec] = {p.name: p for p in COLLECTION_PROPERTIES}

_SIZES = re.compile(r"vector sizes: ((?:[A-Za-z_][A-Za-z0-9_]*=\d+(?:, )?)*)")


def describe_sizes(sizes: Mapping[str, int]) -> str:
    """Collection description recording the vector lengths."""
    listed = ", ".join(f"{name}={size}" for name, size in sorted(sizes.items()))
    return f"Support cases as PII-free vectors (case-vector-pipeline); vector sizes: {listed}"


def sizes_from_description(description: str | None) -> dict[str, int]:
    """Vector lengths recorded by ``describe_sizes``; empty if none are recorded."""
    match = _SIZES.search(description or "")
    if not match or not match.group(1):
        return {}
    return {name: int(size) for name, size in (item.split("=") for item in match.group(1).split(", "))}


def property_differences(actual: Mapping[str, PropertySpec]) -> list[str]:
    """What differs between the expected properties and ``actual`` (missing, extra, other settings)."""
    out = []
    for want in COLLECTION_PROPERTIES:
        have = actual.get(want.name)
        if have is None:
            out.append(f"property {want.name!r} expected {want.data_type}, actual absent")
            continue
        for attribute in ("data_type", "tokenization", "filterable", "searchable", "range_filters"):
            expected, found = getattr(want, attribute), getattr(have, attribute)
            if expected != found:
                out.append(f"property {want.name!r} {attribute} expected {expected}, actual {found}")
    for name in sorted(set(actual) - set(PROPERTY_BY_NAME)):
        out.append(f"property {name!r} expected absent, actual {actual[name].data_type}")
    return out


def vector_differences(
    wanted: Mapping[str, int], actual: Mapping[str, dict], recorded: Mapping[str, int], hnsw: HnswSettings
) -> list[str]:
    """What differs for each requested vector: presence, vectorizer, index settings, recorded size.

    ``actual`` maps each named vector of the collection to ``{"vectorizer", "index_type",
    "distance", "ef", "ef_construction", "max_connections"}``. Vectors of the collection
    that are not requested are not checked.
    """
    expected = {"vectorizer": "none", "index_type": "hnsw", "distance": hnsw.distance, "ef": hnsw.ef,
                "ef_construction": hnsw.ef_construction, "max_connections": hnsw.max_connections}
    out = []
    for name, size in wanted.items():
        have = actual.get(name)
        if have is None:
            out.append(f"vector {name!r} expected self-provided {hnsw.distance} HNSW of size {size}, actual absent")
            continue
        for key, value in expected.items():
            if have.get(key) != value:
                out.append(f"vector {name!r} {key} expected {value}, actual {have.get(key)}")
        if recorded.get(name) != size:
            found = recorded.get(name, "unrecorded (not in the collection description)")
            out.append(f"vector {name!r} size expected {size}, actual {found}")
    return out


def create_collection(client: Any, name: str, sizes: Mapping[str, int], hnsw: HnswSettings) -> None:
    """Create the collection with every property and one self-provided HNSW vector per sized name."""
    from weaviate.classes.config import Configure, DataType, Property, Tokenization, VectorDistances

    properties = [
        Property(
            name=p.name, data_type=DataType(p.data_type),
            tokenization=Tokenization(p.tokenization) if p.tokenization else None,
            index_filterable=p.filterable, index_searchable=p.searchable if p.tokenization else None,
            index_range_filters=p.range_filters or None,
        )
        for p in COLLECTION_PROPERTIES
    ]
    index = Configure.VectorIndex.hnsw(
        distance_metric=VectorDistances(hnsw.distance), ef=hnsw.ef,
        ef_construction=hnsw.ef_construction, max_connections=hnsw.max_connections,
    )
    vectors = [Configure.Vectors.self_provided(name=n, vector_index_config=index) for n in sorted(sizes)]
    client.collections.create(name, description=describe_sizes(sizes), properties=properties, vector_config=vectors)


def configured_properties(config: Any) -> dict[str, PropertySpec]:
    """The properties of a collection configuration read with the SDK, as plain data."""
    return {
        p.name: PropertySpec(
            p.name, p.data_type.value, p.tokenization.value if p.tokenization is not None else None,
            bool(p.index_filterable), bool(p.index_searchable), bool(p.index_range_filters),
        )
        for p in config.properties
    }


def configured_vectors(config: Any) -> dict[str, dict]:
    """The named vectors of a collection configuration read with the SDK, as the dicts ``vector_differences`` takes."""
    out = {}
    for name, named in (config.vector_config or {}).items():
        vectorizer = named.vectorizer.vectorizer
        index = named.vector_index_config
        kind = index.vector_index_type() if hasattr(index, "vector_index_type") else None
        distance = getattr(index, "distance_metric", None)
        out[name] = {
            "vectorizer": getattr(vectorizer, "value", vectorizer),
            "index_type": getattr(kind, "value", kind),
            "distance": getattr(distance, "value", distance),
            "ef": getattr(index, "ef", None),
            "ef_construction": getattr(index, "ef_construction", None),
            "max_connections": getattr(index, "max_connections", None),
        }
    return out
