"""``sha256_hex`` against DuckDB's built-in ``sha256`` and ``hashlib``, on real DuckDB and Arrow."""

from __future__ import annotations

import hashlib

import duckdb
import pyarrow as pa
import pytest

from stages.sha256_function import register_sha256_hex, sha256_hex_array

TEXTS = ["", "a", "é€😀 ünïcödé", "x" * 5000, "line\nbreak\x1fsep\x1e", None, "Case 00012345: DIMM 815098-B21"]


@pytest.fixture
def con():
    con = duckdb.connect()
    register_sha256_hex(con)
    yield con
    con.close()


def test_equals_builtin_sha256_in_sql(con):
    """Over many rows (several DuckDB vectors, both threads), every digest equals the built-in's."""
    rows = con.sql(
        """SELECT count(*), count(*) FILTER (WHERE sha256_hex(s) IS DISTINCT FROM sha256(s)) FROM (
             SELECT CASE WHEN i % 97 = 0 THEN NULL ELSE repeat(chr((65 + i % 26)::INTEGER) || 'é', i % 300) || i END AS s
             FROM range(20000) r(i))"""
    ).fetchall()
    assert rows == [(20000, 0)]


def test_null_stays_null_and_empty_text_is_hashed(con):
    rows = dict(con.sql("SELECT s, sha256_hex(s) FROM (VALUES (NULL), ('')) v(s)").fetchall())
    assert rows[None] is None
    assert rows[""] == hashlib.sha256(b"").hexdigest()


@pytest.mark.parametrize("arrow_type", [pa.string(), pa.large_string(), pa.string_view()])
def test_arrow_layouts_and_slices(arrow_type):
    """Offsets of either width, views and sliced arrays all hash the values they show."""
    array = pa.array(TEXTS, arrow_type)
    expected = [None if t is None else hashlib.sha256(t.encode()).hexdigest() for t in TEXTS]
    assert sha256_hex_array(array).to_pylist() == expected
    assert sha256_hex_array(array.slice(2, 4)).to_pylist() == expected[2:6]
    chunked = pa.chunked_array([array.slice(0, 3), array.slice(3)])
    assert sha256_hex_array(chunked).to_pylist() == expected
    assert sha256_hex_array(array.slice(0, 0)).to_pylist() == []


def test_registering_twice_is_harmless(con):
    register_sha256_hex(con)
    assert con.sql("SELECT sha256_hex('a') = sha256('a')").fetchall() == [(True,)]
