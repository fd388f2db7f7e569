"""Extract and compose on real DuckDB and Parquet, with hand-built staging rows."""

from __future__ import annotations

from datetime import datetime, timedelta

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from blocks.staging_source import raw_relation_name
from schemas.settings import DateWindow
from schemas.staging import TABLES
from stages.compose import compose_cases
from stages.errors import MissingColumn
from stages.extract import extract_window
from stages.row_order import rows_in_creation_order
from tests.staging_builder import BASE_TIME, StagingBuilder

ALL = DateWindow(start=datetime(2000, 1, 1), end=datetime(2030, 1, 1))
TASK_TYPES = ("Plan of Action", "Trouble Shooting")


def _register(con, folder, tables=None):
    present = set()
    for t in tables or TABLES:
        path = folder / f"{t}.parquet"
        if path.exists():
            con.execute(f"CREATE OR REPLACE VIEW {raw_relation_name(t)} AS SELECT * FROM read_parquet('{path}')")
            present.add(t)
    return present


def _run(tmp_path, builder, window=ALL, overrides=None, max_chars=24_000, reorder_extract=False):
    folder = builder.write(tmp_path / "stg", overrides=overrides)
    con = duckdb.connect()
    present = _register(con, folder)
    ext = extract_window(con, present, window, tmp_path / "run" / "extract")
    if reorder_extract:
        _rewrite_in_reverse_without_order_promise(ext.directory)
    comp = compose_cases(con, tmp_path / "run" / "extract", tmp_path / "run" / "compose.parquet",
                         task_types=TASK_TYPES, max_text_chars=max_chars)
    rows = {r["case_id"]: r for r in pq.read_table(comp.path).to_pylist()}
    return ext, comp, rows


def _rewrite_in_reverse_without_order_promise(extract_dir):
    """Child files as other code might write them: rows in another order, no promise about it."""
    for table in TABLES:
        path = extract_dir / f"{table}.parquet"
        if table == "case" or not path.exists():
            continue
        assert rows_in_creation_order(path)  # what extract writes
        rows = pq.read_table(path)
        reverse = pa.array(range(rows.num_rows - 1, -1, -1), pa.int64())
        pq.write_table(rows.take(reverse).replace_schema_metadata(None), path)
        assert not rows_in_creation_order(path)


def _basic() -> StagingBuilder:
    b = StagingBuilder()
    b.case("500A")
    b.comment("500A", "first comment", CreatedDate=BASE_TIME + timedelta(days=2))
    b.comment("500A", "earlier comment", CreatedDate=BASE_TIME + timedelta(days=1))
    wo = b.workorder("500A")
    b.feed(wo["Id"], Body="CE: replaced DIMM 815098-B21")
    b.task("500A")
    b.task("500A", Type="Call", Subject="should not appear")
    b.email("500A", TextBody="", HtmlBody="<p>Fixed &amp; verified</p>")
    return b


def test_children_aggregate_in_created_order(tmp_path):
    """Child rows become aligned lists ordered by CreatedDate, not by insertion."""
    _, _, rows = _run(tmp_path, _basic())
    assert rows["500A"]["comment_bodies"] == ["earlier comment", "first comment"]


def test_task_type_filter_and_feed_through_workorder(tmp_path):
    """Only configured task types contribute; feeds reach the case through their work order."""
    _, _, rows = _run(tmp_path, _basic())
    assert rows["500A"]["task_subjects"] == ["Part needed: Yes - Part Number 815098-B21"]
    assert rows["500A"]["feed_bodies"] == ["CE: replaced DIMM 815098-B21"]
    assert rows["500A"]["feed_count"] == 1


def test_html_becomes_text(tmp_path):
    """Resolution__c and an HtmlBody-only email are stored as plain text."""
    _, _, rows = _run(tmp_path, _basic())
    assert rows["500A"]["resolution"] == "Engineer replaced faulty DIMM module."
    assert rows["500A"]["email_bodies"] == ["Fixed & verified"]


def test_new_comment_changes_checksum(tmp_path):
    """A new comment changes the case checksum; the same source gives the same checksum."""
    _, _, first = _run(tmp_path / "a", _basic())
    _, _, again = _run(tmp_path / "b", _basic())
    b = _basic()
    b.comment("500A", "a new comment")
    _, _, changed = _run(tmp_path / "c", b)
    assert first["500A"]["checksum"] == again["500A"]["checksum"]
    assert changed["500A"]["checksum"] != first["500A"]["checksum"]


def test_checksum_is_stable_across_releases(tmp_path):
    """The checksum of a fixed source is pinned: lineage compares it with checksums written by earlier versions.

    A change to the canonical text or to how it is hashed would make every
    case of every window look changed and reprocess the whole history. The
    value was written by the release that used DuckDB's built-in ``sha256``.
    """
    _, _, rows = _run(tmp_path, _basic())
    assert rows["500A"]["checksum"] == "a008fff72e282090a42285344dad48e97301d0068f5671f13b2c8568f4d7d618"


def test_touch_without_change_keeps_checksum(tmp_path):
    """LastModifiedDate alone is not content: a re-save does not change the checksum."""
    b = _basic()
    _, _, first = _run(tmp_path / "a", b)
    b.rows["case"][0]["LastModifiedDate"] = BASE_TIME + timedelta(days=9)
    _, _, touched = _run(tmp_path / "b", b)
    assert first["500A"]["checksum"] == touched["500A"]["checksum"]


def test_window_selects_case_by_child_change(tmp_path):
    """A case is selected when only a child row changed inside the window."""
    b = StagingBuilder()
    b.case("500OLD", LastModifiedDate=datetime(2020, 1, 1), CreatedDate=datetime(2020, 1, 1))
    b.case("500QUIET", LastModifiedDate=datetime(2020, 1, 1), CreatedDate=datetime(2020, 1, 1))
    b.comment("500OLD", "late comment", LastModifiedDate=datetime(2026, 10, 5))
    window = DateWindow(start=datetime(2026, 10, 1), end=datetime(2026, 10, 10))
    ext, _, rows = _run(tmp_path, b, window)
    assert set(rows) == {"500OLD"}
    assert ext.high_water_mark == datetime(2026, 10, 5)


def test_deleted_case_and_deleted_child(tmp_path):
    """A deleted case is composed as a delete; a deleted child row contributes nothing."""
    b = _basic()
    b.case("500DEL", IsDeleted=True)
    b.comment("500A", "removed", IsDeleted=True)
    _, comp, rows = _run(tmp_path, b)
    assert rows["500DEL"]["action"] == "delete"
    assert "removed" not in rows["500A"]["comment_bodies"]
    assert comp.deletes == 1


def test_quarantine_bad_rows_rest_goes_on(tmp_path):
    """Null id, duplicate id and unparseable timestamp rows are quarantined, naming table, column and Id."""
    b = _basic()
    b.case("500B")
    b.comment("500B", "dup one", Id="00aDUP")
    b.comment("500B", "dup two", Id="00aDUP")
    b.comment("500B", "no id", Id=None)
    b.case("500BADTS")
    for row in b.rows["case"]:
        row["ClosedDate"] = "not a date" if row["Id"] == "500BADTS" else "2026-10-02 10:00:00"
    ext, _, rows = _run(tmp_path, b, overrides={"case": {"ClosedDate": pa.string()}})
    assert set(rows) == {"500A", "500B"}
    kinds = sorted((f["error_type"], f["payload"]["table"]) for f in ext.quarantined)
    assert kinds == [("DuplicateId", "casecomment"), ("DuplicateId", "casecomment"), ("NullId", "casecomment"),
                     ("UnparseableTimestamp", "case")]
    bad_ts = next(f for f in ext.quarantined if f["error_type"] == "UnparseableTimestamp")
    assert "'case'" in bad_ts["error_message"] and "'ClosedDate'" in bad_ts["error_message"]
    assert "500BADTS" in bad_ts["error_message"]
    assert rows["500B"]["comment_bodies"] == []


def test_quarantine_payload_has_no_text(tmp_path):
    """A quarantined row's failure record carries ids, never the row's text."""
    b = StagingBuilder()
    b.case("500A")
    b.comment("500A", "call John Smith at +1 415 555 0134", Id="00aX", IsPublished="maybe")
    ext, _, _ = _run(tmp_path, b, overrides={"casecomment": {"IsPublished": pa.string()}})
    assert [f["error_type"] for f in ext.quarantined] == ["WrongType"]
    assert "John" not in str(ext.quarantined) and "555" not in str(ext.quarantined)


def test_missing_required_column_stops_with_table_and_column(tmp_path):
    """A missing contract column raises MissingColumn naming table and column."""
    folder = _basic().write(tmp_path / "stg")
    t = pq.read_table(folder / "task.parquet").drop_columns(["WhatId"])
    pq.write_table(t, folder / "task.parquet")
    con = duckdb.connect()
    with pytest.raises(MissingColumn, match="'task'.*'WhatId'"):
        extract_window(con, _register(con, folder), ALL, tmp_path / "x")


def test_unknown_columns_ignored_and_missing_tables_allowed(tmp_path):
    """Extra columns are ignored and a missing child table means no rows from it."""
    b = StagingBuilder()
    b.case("500A")
    folder = b.write(tmp_path / "stg", skip=("task", "workorderfeed"))
    t = pq.read_table(folder / "case.parquet").append_column("OwnerId", pa.array(["005X"]))
    pq.write_table(t, folder / "case.parquet")
    con = duckdb.connect()
    ext = extract_window(con, _register(con, folder), ALL, tmp_path / "run" / "extract")
    assert ext.rows["case"] == 1 and ext.rows["task"] == 0


def test_orphans_counted(tmp_path):
    """Child rows without a parent are counted per table, feeds through missing work orders too."""
    b = _basic()
    b.comment("500MISSING", "orphan")
    b.feed("0WOMISSING")
    ext, _, _ = _run(tmp_path, b)
    assert ext.orphans["casecomment"] == 1 and ext.orphans["workorderfeed"] == 1


def test_truncation_recorded_and_counters(tmp_path):
    """Composite text over the limit is flagged; field counters count populated fields."""
    _, _, rows = _run(tmp_path, _basic(), max_chars=100)
    assert rows["500A"]["was_truncated"] is True
    assert rows["500A"]["composite_text_length"] > 100
    assert rows["500A"]["total_fields_populated"] >= rows["500A"]["issue_fields_populated"] > 0


def test_context_values_gathered(tmp_path):
    """PII context values of the case and its children are gathered for the PII stage."""
    b = StagingBuilder()
    b.case("500A", SuppliedEmail="Ann@Example.com")
    b.workorder("500A", ContactName="Jane Roe", Street="1 Main St")
    b.email("500A", ToAddress="a@x.com; b@y.com")
    _, _, rows = _run(tmp_path, b)
    r = rows["500A"]
    assert {"John Smith", "Jane Roe"} <= set(r["context_names"])
    assert {"a@x.com; b@y.com", "Ann@Example.com"} <= set(r["context_emails"])  # the PII stage splits lists
    assert "1 Main St" in r["context_addresses"]


def test_context_lists_hold_every_value_without_blanks(tmp_path):
    """Context lists hold every value of the case and its children, blanks dropped; a repeated value repeats.

    They are bags in no particular order: the PII stage reads them as sets
    (``tests/blocks`` checks that order and repeats change nothing there).
    """
    b = StagingBuilder()
    b.case("500A", SuppliedName="Zoe Zimmer", ContactName="Mia Moor", SuppliedEmail="zoe@x.com")
    b.workorder("500A", ContactName="Bea Berg", Street="9 Side St", City="Austin")
    b.email("500A", FromName="Adam Abel", FromAddress="adam@x.com", ToAddress="zoe@x.com; bea@x.com")
    b.email("500A", FromName="Mia Moor")
    b.email("500A", FromName="   ", FromAddress="", ToAddress="mia@x.com; ;  ,")  # blanks are no values
    b.case("500B", SuppliedName=" ", ContactName=None, SuppliedEmail=" ; ", ContactEmail="", SuppliedPhone="  ",
           ContactPhone="")
    _, _, rows = _run(tmp_path, b)
    r = rows["500A"]
    assert sorted(r["context_names"]) == ["Adam Abel", "Bea Berg", "Mia Moor", "Mia Moor", "Zoe Zimmer"]
    assert {"adam@x.com", "mia@x.com; ;  ,", "zoe@x.com", "zoe@x.com; bea@x.com"} <= set(r["context_emails"])
    assert all(v is not None and v.strip() for name in ("context_names", "context_emails") for v in r[name])
    assert sorted(r["context_addresses"]) == ["9 Side St", "Austin"]
    assert (rows["500B"]["context_names"], rows["500B"]["context_phones"]) == ([], [])
    assert rows["500B"]["context_emails"] == [" ; "]  # a list of blanks: the PII stage splits it into nothing


def _ordering_cases() -> StagingBuilder:
    """Child rows whose order needs CreatedDate, then Id, with missing dates last, written out of order."""
    b = StagingBuilder()
    b.case("500A")
    t = BASE_TIME + timedelta(days=3)
    b.comment("500A", "undated 2", Id="00a9", CreatedDate=None)
    b.comment("500A", "same time 2", Id="00a5", CreatedDate=t)
    b.comment("500A", "undated 1", Id="00a1", CreatedDate=None)
    b.comment("500A", "same time 1", Id="00a4", CreatedDate=t)
    b.comment("500A", "earliest", Id="00a7", CreatedDate=t - timedelta(days=1))
    late = b.workorder("500A", Id="0WO2", CreatedDate=t)
    early = b.workorder("500A", Id="0WO3", CreatedDate=t - timedelta(days=1))
    b.feed(late["Id"], Body="late wo, early feed", CreatedDate=t - timedelta(days=5))
    b.feed(early["Id"], Body="early wo, undated feed", CreatedDate=None)
    b.feed(early["Id"], Body="early wo, dated feed", CreatedDate=t)
    return b


@pytest.mark.parametrize("reorder_extract", [False, True], ids=["extract-order", "any-order"])
def test_children_order_by_created_date_then_id_with_missing_dates_last(tmp_path, reorder_extract):
    """Rows created at the same time come in Id order; rows without CreatedDate come last, by Id.

    Feeds follow their work order's (CreatedDate, Id), then their own. The
    same whether compose sorts by position in extract's ordered files or,
    for files in any other order, by the columns themselves.
    """
    _, _, rows = _run(tmp_path, _ordering_cases(), reorder_extract=reorder_extract)
    r = rows["500A"]
    assert r["comment_bodies"] == ["earliest", "same time 1", "same time 2", "undated 1", "undated 2"]
    assert r["feed_bodies"] == ["early wo, dated feed", "early wo, undated feed", "late wo, early feed"]


def test_compose_is_the_same_from_child_files_in_any_order(tmp_path):
    """Checksums, lists and counts do not depend on which sort key compose used (context lists are bags)."""
    b = _ordering_cases()
    for i in range(3):
        b.case(f"50{i}X", SuppliedName=f"Name {i}")
        b.comment(f"50{i}X", f"comment {i}", CreatedDate=BASE_TIME + timedelta(days=i))
        b.comment(f"50{i}X", f"older comment {i}", CreatedDate=BASE_TIME - timedelta(days=i))
        b.email(f"50{i}X", FromName="Ann Lee", TextBody=f"mail {i}")
    _, _, ordered = _run(tmp_path / "a", b)
    _, _, reordered = _run(tmp_path / "b", b, reorder_extract=True)

    def comparable(rows):
        return {cid: {k: sorted(v) if k.startswith("context_") else v for k, v in row.items()} for cid, row in rows.items()}

    assert comparable(reordered) == comparable(ordered)
    assert len(ordered) == 4


def test_extract_writes_row_groups_compose_can_share_out(tmp_path):
    """A table larger than one row group is written as several, so DuckDB scans it on every core."""
    from stages.sql_text import CHECKPOINT_ROW_GROUP

    b = StagingBuilder()
    b.case("500A")
    for i in range(CHECKPOINT_ROW_GROUP + 10):
        b.comment("500A", f"comment {i}")
    ext, comp, rows = _run(tmp_path, b)
    assert pq.ParquetFile(ext.directory / "casecomment.parquet").metadata.num_row_groups == 2
    assert rows["500A"]["comment_count"] == CHECKPOINT_ROW_GROUP + 10


def test_partitioned_compose_equals_single_statement(tmp_path):
    """Composing in many hash partitions gives exactly the rows of one partition."""
    b = _basic()
    for i in range(9):
        b.case(f"500P{i}")
        b.comment(f"500P{i}", f"comment {i}")
    folder = b.write(tmp_path / "stg")
    con = duckdb.connect()
    extract_window(con, _register(con, folder), ALL, tmp_path / "run" / "extract")
    one = compose_cases(con, tmp_path / "run" / "extract", tmp_path / "one.parquet", task_types=TASK_TYPES,
                        max_text_chars=500)
    many = compose_cases(con, tmp_path / "run" / "extract", tmp_path / "many.parquet", task_types=TASK_TYPES,
                         max_text_chars=500, partition_cases=2)
    key = lambda r: r["case_id"]  # noqa: E731
    assert one.rows == many.rows == 10
    assert sorted(pq.read_table(one.path).to_pylist(), key=key) == sorted(pq.read_table(many.path).to_pylist(), key=key)


def test_empty_window_writes_an_empty_checkpoint_with_schema(tmp_path):
    """A window with no cases still writes a compose checkpoint with every column."""
    folder = _basic().write(tmp_path / "stg")
    con = duckdb.connect()
    window = DateWindow(start=datetime(2001, 1, 1), end=datetime(2001, 1, 2))
    extract_window(con, _register(con, folder), window, tmp_path / "run" / "extract")
    res = compose_cases(con, tmp_path / "run" / "extract", tmp_path / "c.parquet", task_types=TASK_TYPES,
                        max_text_chars=500)
    t = pq.read_table(res.path)
    assert res.rows == 0 and "checksum" in t.column_names and "comment_bodies" in t.column_names


def test_measured_length_and_counters_equal_the_rendered_text(tmp_path):
    """Compose measures the text by arithmetic; it must equal rendering it and taking its length.

    Blank and whitespace-only values, blank child rows, non-ASCII text and a
    case with no embedded field at all are the edges where the sum could drift.
    """
    from stages.composite_text import composite_text_sql, populated_sql

    b = _basic()
    b.case("500B", Subject="  ", Description="Ünïcode — déjà vu ✓", Resolution__c=None)
    b.comment("500B", "   ")
    b.comment("500B", "  padded  ")
    b.email("500B", TextBody="", HtmlBody="")
    b.case("500C", Subject=None, Description=None, Resolution__c=None)
    _, comp, rows = _run(tmp_path, b)
    con = duckdb.connect()
    expected = {
        r[0]: r[1:]
        for r in con.execute(
            f"SELECT case_id, length({composite_text_sql()}), {populated_sql('total')}, {populated_sql('issue')}, "
            f"{populated_sql('resolution')} FROM read_parquet($p)", {"p": str(comp.path)}
        ).fetchall()
    }
    assert set(expected) == {"500A", "500B", "500C"}
    for case_id, (length, total, issue, resolution) in expected.items():
        r = rows[case_id]
        assert (r["composite_text_length"], r["total_fields_populated"], r["issue_fields_populated"],
                r["resolution_fields_populated"]) == (length, total, issue, resolution), case_id
    assert rows["500A"]["composite_text_length"] > 0
