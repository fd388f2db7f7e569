"""The stand-in answers weaviate-client v4 the way a real server does, where stores depend on it."""

from __future__ import annotations

import datetime as dt

import pytest


@pytest.fixture
def client(weaviate_standin):
    import weaviate

    with weaviate.connect_to_custom(
        http_host="127.0.0.1", http_port=weaviate_standin.http_port, http_secure=False,
        grpc_host="127.0.0.1", grpc_port=weaviate_standin.grpc_port, grpc_secure=False, skip_init_checks=True,
    ) as c:
        yield c


@pytest.fixture
def things(client):
    from weaviate.classes.config import Configure, DataType, Property, Tokenization

    return client.collections.create(
        "Thing",
        properties=[Property(name="code", data_type=DataType.TEXT, tokenization=Tokenization.FIELD),
                    Property(name="title", data_type=DataType.TEXT),
                    Property(name="size", data_type=DataType.INT),
                    Property(name="seen", data_type=DataType.DATE)],
        vector_config=[Configure.Vectors.self_provided(name="v")],
    )


def test_schema_comes_back_with_server_defaults(things):
    """Defaults a real server fills in are there: word tokenization, filterable/searchable flags, HNSW config."""
    config = things.config.get()
    props = {p.name: p for p in config.properties}
    assert props["title"].tokenization.value == "word" and props["title"].index_searchable
    assert props["size"].tokenization is None and not props["size"].index_searchable
    assert props["code"].index_filterable and props["code"].tokenization.value == "field"
    hnsw = config.vector_config["v"].vector_index_config
    assert hnsw.distance_metric.value == "cosine" and hnsw.max_connections == 32


def test_integers_come_back_as_integers_and_dates_as_datetimes(things):
    """An int property (sent as a double by the client) is cast back; a date round-trips to the microsecond."""
    seen = dt.datetime(2025, 3, 1, 8, 0, 1, 123456, tzinfo=dt.timezone.utc)
    things.data.insert_many([{"code": "A-1", "title": "x", "size": 7, "seen": seen}])
    obj = things.query.fetch_objects().objects[0]
    assert obj.properties["size"] == 7 and isinstance(obj.properties["size"], int)
    assert obj.properties["seen"] == seen


def test_fetch_without_limit_returns_ten_and_filters_follow_tokenization(things):
    """No limit means 10 objects; equal on a field-tokenized property is exact, on a word-tokenized one by tokens."""
    from weaviate.classes.query import Filter

    things.data.insert_many([{"code": f"A-{i}", "title": f"Disk {i} failed"} for i in range(12)])
    assert len(things.query.fetch_objects().objects) == 10
    assert len(things.query.fetch_objects(limit=20).objects) == 12
    assert len(things.query.fetch_objects(filters=Filter.by_property("code").equal("a-1"), limit=20).objects) == 0
    assert len(things.query.fetch_objects(filters=Filter.by_property("code").equal("A-1"), limit=20).objects) == 1
    assert len(things.query.fetch_objects(filters=Filter.by_property("title").equal("DISK"), limit=20).objects) == 12


def test_batch_rejects_unknown_properties_per_object(things):
    """Auto-schema is off: an object with a property the collection lacks fails alone; the others are stored."""
    result = things.data.insert_many([{"code": "ok"}, {"code": "bad", "colour": "red"}])
    assert list(result.errors) == [1] and "colour" in result.errors[1].message
    assert things.aggregate.over_all(total_count=True).total_count == 1
