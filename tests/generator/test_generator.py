"""The synthetic staging generator: contract, determinism, realism, answer keys."""

from __future__ import annotations

import json
import re
from datetime import datetime, timedelta
from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from generator import GenerationReport, generate_staging
from generator.chunks import iter_chunks
from schemas.staging import CHILD_TABLES, TABLE_NAMES, TABLES

CASES = 1_500
REF = datetime(2026, 11, 1)
ARROW = {"VARCHAR": pa.string(), "TIMESTAMP": pa.timestamp("us"), "BOOLEAN": pa.bool_()}
PREFIX = {"case": "500", "task": "00T", "workorder": "0WO", "casecomment": "00a",
          "emailmessage": "02s", "workorderfeed": "0D5"}


@pytest.fixture(scope="module")
def staging(tmp_path_factory) -> GenerationReport:
    out = tmp_path_factory.mktemp("staging")
    return generate_staging(out, CASES, seed=7, chunk_cases=500)


@pytest.fixture(scope="module")
def db(staging) -> duckdb.DuckDBPyConnection:
    con = duckdb.connect()
    for name in (*TABLE_NAMES, "answer_key", "keep_tokens"):
        path = staging.out_dir / name / "*.parquet"
        con.execute(f'CREATE VIEW "{name}" AS SELECT * FROM read_parquet(\'{path}\')')
    return con


def one(con: duckdb.DuckDBPyConnection, sql: str, *params):
    return con.execute(sql, list(params)).fetchall()[0][0]


def _read(folder: Path) -> pa.Table:
    return pa.concat_tables([pq.read_table(p) for p in sorted(folder.glob("part-*.parquet"))])


@pytest.mark.parametrize("table", TABLE_NAMES)
def test_tables_have_every_contract_column_with_its_type_plus_extras(staging, table):
    """Each table folder holds part files whose schema is the contract's, plus unknown columns."""
    files = sorted((staging.out_dir / table).glob("part-*.parquet"))
    assert files, table
    schema = pq.read_schema(files[0])
    for col in TABLES[table].columns:
        assert schema.field(col.name).type == ARROW[col.sql_type], (table, col.name)
    extras = set(schema.names) - set(TABLES[table].column_names)
    assert extras, f"{table}: expected extra columns consumers must ignore"


def test_ids_are_unique_salesforce_ids_with_table_prefixes(db):
    """Ids are 18-char, prefixed per table, unique everywhere; case numbers are 10 digits."""
    for table, prefix in PREFIX.items():
        n, distinct, bad = db.execute(
            f'SELECT count(*), count(DISTINCT Id), count(*) FILTER (WHERE length(Id) <> 18 '
            f'OR NOT starts_with(Id, ?)) FROM "{table}"', [prefix]).fetchone()
        assert n == distinct and bad == 0, table
    assert one(db, "SELECT count(*) FILTER (NOT regexp_full_match(CaseNumber, '\\d{10}')) FROM \"case\"") == 0
    assert one(db, 'SELECT count(DISTINCT CaseNumber) FROM "case"') == CASES
    assert one(db, "SELECT count(*) FILTER (NOT regexp_full_match(WorkOrderNumber, 'WO-\\d{8,}')) "
                   "FROM workorder") == 0


def _checksum(id15: str) -> str:
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZ012345"
    return "".join(alphabet[sum(1 << i for i, c in enumerate(id15[k:k + 5]) if c.isupper())]
                   for k in (0, 5, 10))


def test_ids_carry_the_salesforce_case_safe_suffix(db):
    """The last 3 characters are Salesforce's checksum of the first 15."""
    ids = [r[0] for r in db.execute('SELECT Id FROM "case" UNION ALL SELECT Id FROM task').fetchall()]
    assert all(i[15:] == _checksum(i[:15]) for i in ids)


def test_same_seed_gives_identical_bytes_and_another_seed_differs(tmp_path):
    """Determinism: a seed pins every byte; nothing depends on the clock."""
    a = generate_staging(tmp_path / "a", 300, seed=11)
    b = generate_staging(tmp_path / "b", 300, seed=11)
    c = generate_staging(tmp_path / "c", 300, seed=12)
    for name, paths in a.paths.items():
        for p in paths:
            rel = p.relative_to(a.out_dir)
            assert p.read_bytes() == (b.out_dir / rel).read_bytes(), rel
    assert (a.out_dir / "_generator.json").read_text() == (b.out_dir / "_generator.json").read_text()
    assert _read(a.out_dir / "case").column("Description") != _read(c.out_dir / "case").column("Description")


def test_chunk_size_changes_row_groups_and_files_but_not_data(tmp_path, staging):
    """Chunked output (several row groups and part files) holds exactly the same rows."""
    small = generate_staging(tmp_path / "small", CASES, seed=7, chunk_cases=200, chunks_per_file=3)
    assert len(small.paths["case"]) == 3
    assert pq.ParquetFile(small.paths["case"][0]).metadata.num_row_groups == 3
    assert pq.ParquetFile(staging.paths["case"][0]).metadata.num_row_groups == 3
    for name in (*TABLE_NAMES, "answer_key", "keep_tokens"):
        assert _read(small.out_dir / name).equals(_read(staging.out_dir / name)), name
    assert small.rows == staging.rows


def test_workers_produce_the_same_files(tmp_path):
    """Chunks built in worker processes are written identically."""
    one_proc = generate_staging(tmp_path / "w1", 400, seed=5, chunk_cases=150, workers=1)
    two_proc = generate_staging(tmp_path / "w2", 400, seed=5, chunk_cases=150, workers=2)
    for p in one_proc.paths["emailmessage"] + one_proc.paths["answer_key"]:
        assert p.read_bytes() == (two_proc.out_dir / p.relative_to(one_proc.out_dir)).read_bytes()


def test_sub_batches_built_by_workers_merge_into_the_same_chunks(tmp_path):
    """Chunks assembled from several worker-built sub-batches equal in-process chunks."""
    ref_us = 1_793_491_200_000_000
    here = list(iter_chunks(700, 300, 9, ref_us, workers=1))
    there = list(iter_chunks(700, 300, 9, ref_us, workers=2, scratch=tmp_path / "s", sub_batch=120))
    assert not (tmp_path / "s").exists()
    assert len(here) == len(there) == 3
    for (a, ca), (b, cb) in zip(here, there):
        assert ca == cb
        for name in a:
            assert a[name].equals(b[name]), name


_LIVE_CHILDREN = {
    "task": 'SELECT t.WhatId AS case_id FROM task t WHERE NOT t.IsDeleted',
    "workorder": 'SELECT w.CaseId AS case_id FROM workorder w WHERE NOT w.IsDeleted',
    "casecomment": 'SELECT c.ParentId AS case_id FROM casecomment c WHERE NOT c.IsDeleted',
    "emailmessage": 'SELECT e.ParentId AS case_id FROM emailmessage e WHERE NOT e.IsDeleted',
    "workorderfeed": 'SELECT w.CaseId AS case_id FROM workorderfeed f JOIN workorder w ON f.ParentId = w.Id '
                     'WHERE NOT f.IsDeleted AND NOT w.IsDeleted',
}


@pytest.mark.parametrize("table", CHILD_TABLES)
def test_join_coverage_is_between_30_and_80_percent(db, staging, table):
    """Share of live cases with a live child row (feeds through live work orders)."""
    covered = one(db, f'SELECT count(*) FILTER (WHERE Id IN ({_LIVE_CHILDREN[table]})) / count(*) '
                      'FROM "case" WHERE NOT IsDeleted')
    assert 0.30 <= covered <= 0.80, (table, covered)
    assert covered == pytest.approx(staging.coverage[table])


_PARENT = {"task": ("WhatId", "case"), "workorder": ("CaseId", "case"),
           "casecomment": ("ParentId", "case"), "emailmessage": ("ParentId", "case"),
           "workorderfeed": ("ParentId", "workorder")}


@pytest.mark.parametrize("table", CHILD_TABLES)
def test_orphans_and_deleted_rows_are_present_and_reported(db, staging, table):
    """~0.5% of child rows point at a missing parent; ~2% are soft-deleted."""
    col, parent = _PARENT[table]
    total = one(db, f'SELECT count(*) FROM "{table}"')
    orphans = one(db, f'SELECT count(*) FROM "{table}" WHERE {col} NOT IN (SELECT Id FROM "{parent}")')
    deleted = one(db, f'SELECT count(*) FROM "{table}" WHERE IsDeleted')
    assert orphans == staging.orphans[table] and orphans > 0, table
    assert deleted == staging.deleted[table] and 0.005 < deleted / total < 0.05, table
    assert orphans / total < 0.02


def test_some_cases_are_deleted(db, staging):
    """~1-2% of cases are soft-deleted."""
    share = one(db, 'SELECT avg(IsDeleted::INT) FROM "case"')
    assert 0.005 < share < 0.03
    assert staging.deleted["case"] == one(db, 'SELECT count(*) FROM "case" WHERE IsDeleted')


def test_timestamps_fall_in_the_120_days_before_the_reference_time(db):
    """No clock dependence: every timestamp lies in [ref - 120 days, ref]."""
    lo = REF - timedelta(days=120)
    for table in TABLE_NAMES:
        cols = [c.name for c in TABLES[table].columns if c.sql_type == "TIMESTAMP"]
        for c in cols:
            mn, mx = db.execute(f'SELECT min({c}), max({c}) FROM "{table}"').fetchone()
            assert lo <= mn and mx <= REF, (table, c, mn, mx)
        assert one(db, f'SELECT count(*) FROM "{table}" WHERE CreatedDate > LastModifiedDate') == 0
    assert one(db, 'SELECT count(*) FROM "case" WHERE IsClosed <> (ClosedDate IS NOT NULL)') == 0


def test_reference_time_moves_the_window(tmp_path):
    """Timestamps follow reference_time; an aware datetime is taken as its UTC moment."""
    from datetime import timezone

    ref = datetime(2025, 3, 1, 12, tzinfo=timezone(timedelta(hours=2)))
    rep = generate_staging(tmp_path / "ref", 60, seed=3, reference_time=ref)
    created = _read(rep.out_dir / "case").column("CreatedDate").to_pylist()
    assert rep.reference_time == datetime(2025, 3, 1, 10)
    assert all(datetime(2025, 3, 1, 10) - timedelta(days=120) <= c <= datetime(2025, 3, 1, 10)
               for c in created)


def _keyed_columns(db, key: str) -> list[tuple[str, str]]:
    return db.execute(f'SELECT DISTINCT "table", "column" FROM {key} ORDER BY 1, 2').fetchall()


@pytest.mark.parametrize("key,value", [("answer_key", "value"), ("keep_tokens", "token")])
def test_every_key_value_occurs_in_the_named_record_column(db, key, value):
    """Answer-key values and keep tokens are really in that record's text, verbatim."""
    pairs = _keyed_columns(db, key)
    assert len(pairs) > 12
    for table, column in pairs:
        missing = one(db, f'SELECT count(*) FROM {key} k LEFT JOIN "{table}" t ON t.Id = k.record_id '
                          f'WHERE k."table" = ? AND k."column" = ? '
                          f'AND (t.Id IS NULL OR NOT contains(t."{column}", k.{value}))', table, column)
        assert missing == 0, (key, table, column)


@pytest.mark.parametrize("key", ["answer_key", "keep_tokens"])
def test_record_live_is_false_exactly_for_deleted_orphaned_or_dead_parent_rows(db, key):
    """record_live mirrors what reaches a live case through the contract's joins."""
    live = ('SELECT Id FROM "case" WHERE NOT IsDeleted UNION ALL '
            'SELECT t.Id FROM task t JOIN "case" c ON t.WhatId = c.Id WHERE NOT t.IsDeleted AND NOT c.IsDeleted '
            'UNION ALL SELECT w.Id FROM workorder w JOIN "case" c ON w.CaseId = c.Id '
            'WHERE NOT w.IsDeleted AND NOT c.IsDeleted UNION ALL '
            'SELECT x.Id FROM casecomment x JOIN "case" c ON x.ParentId = c.Id WHERE NOT x.IsDeleted AND NOT c.IsDeleted '
            'UNION ALL SELECT e.Id FROM emailmessage e JOIN "case" c ON e.ParentId = c.Id '
            'WHERE NOT e.IsDeleted AND NOT c.IsDeleted UNION ALL '
            'SELECT f.Id FROM workorderfeed f JOIN workorder w ON f.ParentId = w.Id JOIN "case" c ON w.CaseId = c.Id '
            'WHERE NOT f.IsDeleted AND NOT w.IsDeleted AND NOT c.IsDeleted')
    wrong = one(db, f'SELECT count(*) FROM {key} WHERE record_live <> (record_id IN ({live}))')
    assert wrong == 0
    assert one(db, f'SELECT count(*) FROM {key} WHERE NOT record_live') > 0


def test_resolution_is_html_and_some_emails_are_html_only(db):
    """Resolution__c uses <p>, <ul><li>, <br>, &amp;, &nbsp;; some mails have only HtmlBody."""
    for needle in ("<p>", "<ul><li>", "<br>", "&amp;", "&nbsp;"):
        assert one(db, 'SELECT count(*) FROM "case" WHERE contains(Resolution__c, ?)', needle) > 0, needle
    assert one(db, "SELECT count(*) FROM emailmessage WHERE TextBody IS NULL AND HtmlBody IS NOT NULL") > 0
    assert one(db, "SELECT count(*) FROM emailmessage WHERE TextBody = '' AND HtmlBody IS NOT NULL") > 0
    assert one(db, "SELECT count(*) FROM answer_key WHERE \"column\" = 'HtmlBody'") > 0
    assert one(db, "SELECT count(*) FROM emailmessage WHERE contains(CcAddress, '; ')") > 0


def test_text_looks_like_hardware_support(db):
    """Realistic content: products, parts, error codes, greetings, signatures, quoted replies."""
    for pattern in (r"HPE ProLiant DL380 Gen10", r"\d{6}-B21", r"iLO_400_\w+", r"0x[0-9A-F]{8}",
                    r"Partner Notes \d{8}, CE: \w+", r"SN New: \w+, SN Old: \w+"):
        assert one(db, "SELECT count(*) FROM (SELECT Body AS t FROM workorderfeed UNION ALL "
                       "SELECT Description FROM \"case\" UNION ALL SELECT Subject FROM \"case\" UNION ALL "
                       "SELECT Error_Codes__c FROM \"case\") WHERE regexp_matches(t, ?)", pattern) > 0, pattern
    bodies = " ".join(r[0] for r in db.execute("SELECT TextBody FROM emailmessage WHERE TextBody <> '' "
                                               "LIMIT 400").fetchall())
    assert re.search(r"^Hi \w+,$", bodies, re.M) and "Best regards,\n" in bodies
    assert re.search(r"On \w{3}, \d{1,2} \w{3} \d{4}, .+ <\S+@\S+> wrote:", bodies)
    assert one(db, "SELECT count(*) FROM emailmessage WHERE regexp_matches(Subject, "
                   "'RE: HPE Support Case \\d{10} \\[ ref:!00Dd00bUlK\\.!500\\w+:ref \\]')") > 0
    assert one(db, "SELECT count(*) FROM casecomment WHERE starts_with(CommentBody, 'Spoke with ')") > 0
    types = {r[0] for r in db.execute("SELECT DISTINCT Type FROM task").fetchall()}
    assert types == {"Plan of Action", "Trouble Shooting", "Call", "Email", "Follow Up"}


def _luhn_ok(number: str) -> bool:
    digits = [int(c) for c in number if c.isdigit()][::-1]
    total = sum(d if i % 2 == 0 else (d * 2 - 9 if d > 4 else d * 2) for i, d in enumerate(digits))
    return total % 10 == 0


def test_answer_key_covers_every_entity_type_and_phone_format(db):
    """All entity types appear; phones come in US, UK, DE, FR and IN formats; cards pass Luhn."""
    kinds = {r[0] for r in db.execute("SELECT DISTINCT entity_type FROM answer_key").fetchall()}
    assert kinds == {"PERSON", "EMAIL_ADDRESS", "PHONE_NUMBER", "CREDIT_CARD", "IBAN_CODE",
                     "US_SSN", "LOCATION", "ORGANIZATION"}
    phones = [r[0] for r in db.execute("SELECT value FROM answer_key WHERE entity_type = 'PHONE_NUMBER'").fetchall()]
    for pattern in (r"^\(\d{3}\) \d{3}-\d{4}$", r"^\+1 \d{3} \d{3} \d{4}$", r"^\+44 \d{2,3} \d{3,4} \d{4}$",
                    r"^\+49 \d{2,3} \d{6,7}$", r"^\+33 \d( \d\d){4}$", r"^\+91 \d{5} \d{5}$"):
        assert any(re.match(pattern, p) for p in phones), pattern
    cards = [r[0] for r in db.execute("SELECT value FROM answer_key WHERE entity_type = 'CREDIT_CARD'").fetchall()]
    assert cards and all(_luhn_ok(c) for c in cards)
    names = [r[0] for r in db.execute("SELECT value FROM answer_key WHERE entity_type = 'PERSON'").fetchall()]
    assert any(re.match(r"^[^ ,]+, [^ ,]+$", n) for n in names)  # "Smith, John"
    assert any(re.match(r"^\w\. \S+$", n) for n in names)  # "J. Smith"
    assert any(n.isupper() and " " in n for n in names)  # "JOHN SMITH"
    flags = {r[0] for r in db.execute("SELECT DISTINCT in_context FROM answer_key").fetchall()}
    assert flags == {True, False}


def _words(name: str) -> set[str]:
    return {w for w in re.split(r"[ ,]+", name.lower()) if w and not w.endswith(".")}


def _digits8(phone: str) -> str:
    return re.sub(r"\D", "", phone)[-8:]


def test_in_context_flags_agree_with_the_context_columns(db):
    """in_context is true exactly when the case's live context columns hold the value (any variant)."""
    ctx_sql = """
        SELECT Id AS case_id, SuppliedName AS name, SuppliedEmail AS email, SuppliedPhone AS phone FROM "case"
        UNION ALL SELECT Id, ContactName, ContactEmail, ContactPhone FROM "case"
        UNION ALL SELECT CaseId, ContactName, NULL, ContactPhone FROM workorder
            WHERE NOT IsDeleted AND CaseId IN (SELECT Id FROM "case")
        UNION ALL SELECT ParentId, FromName, FromAddress || '; ' || ToAddress || coalesce('; ' || CcAddress, ''), NULL
            FROM emailmessage WHERE NOT IsDeleted AND ParentId IN (SELECT Id FROM "case")"""
    names: dict[str, list[set[str]]] = {}
    emails: dict[str, set[str]] = {}
    phones: dict[str, set[str]] = {}
    for case_id, name, email, phone in db.execute(ctx_sql).fetchall():
        if name:
            names.setdefault(case_id, []).append(_words(name))
        if email:
            emails.setdefault(case_id, set()).update(e.strip().lower() for e in email.split(";"))
        if phone:
            phones.setdefault(case_id, set()).add(_digits8(phone))
    rows = db.execute("SELECT case_id, entity_type, value, in_context FROM answer_key "
                      "WHERE entity_type IN ('PERSON', 'EMAIL_ADDRESS', 'PHONE_NUMBER')").fetchall()
    wrong = []
    for case_id, etype, value, flag in rows:
        if etype == "PERSON":
            words = _words(value)
            held = any(words <= ctx for ctx in names.get(case_id, []))
        elif etype == "EMAIL_ADDRESS":
            held = value.lower() in emails.get(case_id, set())
        else:
            held = _digits8(value) in phones.get(case_id, set())
        if held != flag:
            wrong.append((case_id, etype, value, flag))
    assert not wrong, wrong[:10]


def test_manifest_and_report_agree(staging):
    """_generator.json records seed, cases, reference time and the counts of the report."""
    manifest = json.loads((staging.out_dir / "_generator.json").read_text())
    assert manifest["seed"] == 7 and manifest["cases"] == CASES
    assert manifest["reference_time"] == "2026-11-01T00:00:00"
    assert manifest["rows"] == staging.rows and manifest["orphans"] == staging.orphans
    assert staging.rows["case"] == CASES
