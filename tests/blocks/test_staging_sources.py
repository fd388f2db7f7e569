"""Staging sources: Parquet folder, DuckDB file and SQL database (SQLite, PostgreSQL).

Every test runs real reads: files in ``tmp_path``, a real SQLite file and the
session's real PostgreSQL server (``tests/postgres_server.py``).
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import sqlalchemy as sa

from blocks.errors import StagingUnreadable, TerminalServiceError
from blocks.staging_files import DuckDBStagingSource, ParquetStagingSource
from blocks.staging_source import StagingSource, raw_relation_name
from blocks.staging_sql import SqlStagingSource

UTC = dt.timezone.utc

CASES = pa.table(
    {
        "Id": ["500A", "500B", "500C", "500D", "500E"],
        "CaseNumber": ["5000123456", "5000123457", "5000123458", "5000123459", "5000123460"],
        "Subject": ["DIMM degraded", "iLO 0x80070005", None, "Fan 218004", "PSU"],
        "CreatedDate": [dt.datetime(2025, 10, d, 9, 30) for d in range(1, 6)],
        "IsDeleted": [False, False, True, False, False],
        "Custom__c": ["x1", "x2", "x3", "x4", "x5"],  # not in the contract: must survive
    }
)
TASKS = pa.table(
    {
        "Id": ["00T1", "00T2", "00T3"],
        "WhatId": ["500A", "500A", "500B"],
        "Type": ["Plan of Action", "Trouble Shooting", "Call"],
    }
)


def rows(con: duckdb.DuckDBPyConnection, table: str, columns: str = '"Id"') -> list[tuple]:
    return con.execute(f"SELECT {columns} FROM {raw_relation_name(table)} ORDER BY \"Id\"").fetchall()


def column_names(con: duckdb.DuckDBPyConnection, table: str) -> list[str]:
    return [r[0] for r in con.execute(f"DESCRIBE {raw_relation_name(table)}").fetchall()]


def column_types(con: duckdb.DuckDBPyConnection, table: str) -> dict[str, str]:
    return {r[0]: r[1] for r in con.execute(f"DESCRIBE {raw_relation_name(table)}").fetchall()}


# --------------------------------------------------------------------------- #
# Writers: the same two tables in each kind of source.                         #
# --------------------------------------------------------------------------- #


def _sql_tables(metadata: sa.MetaData, schema: str | None, case_name: str, task_name: str) -> None:
    sa.Table(
        case_name, metadata,
        sa.Column("Id", sa.String(18), primary_key=True),
        sa.Column("CaseNumber", sa.String(30)),
        sa.Column("Subject", sa.Text),
        sa.Column("CreatedDate", sa.DateTime),
        sa.Column("IsDeleted", sa.Boolean),
        sa.Column("Custom__c", sa.Text),
        schema=schema,
    )
    sa.Table(
        task_name, metadata,
        sa.Column("Id", sa.String(18), primary_key=True),
        sa.Column("WhatId", sa.String(18)),
        sa.Column("Type", sa.String(40)),
        schema=schema,
    )


def load_sql(url: str, schema: str | None, case_name: str = "case", task_name: str = "task") -> None:
    """Create the case and task tables in a SQL database and load the rows."""
    engine = sa.create_engine(url)
    try:
        metadata = sa.MetaData()
        _sql_tables(metadata, schema, case_name, task_name)
        with engine.begin() as conn:
            if schema:
                conn.execute(sa.schema.CreateSchema(schema, if_not_exists=True))
            metadata.create_all(conn)
            conn.execute(metadata.tables[f"{schema}.{case_name}" if schema else case_name].insert(), CASES.to_pylist())
            conn.execute(metadata.tables[f"{schema}.{task_name}" if schema else task_name].insert(), TASKS.to_pylist())
    finally:
        engine.dispose()


def parquet_single_files(tmp_path: Path, request: pytest.FixtureRequest | None = None) -> StagingSource:
    folder = tmp_path / "staging"
    folder.mkdir()
    pq.write_table(CASES, folder / "case.parquet")
    pq.write_table(TASKS, folder / "task.parquet")
    return ParquetStagingSource(path=str(folder))


def parquet_folders(tmp_path: Path, request: pytest.FixtureRequest | None = None) -> StagingSource:
    folder = tmp_path / "staging"
    (folder / "case" / "late").mkdir(parents=True)
    (folder / "task").mkdir(parents=True)
    pq.write_table(CASES.slice(0, 2), folder / "case" / "part-0.parquet")
    pq.write_table(CASES.slice(2, 2), folder / "case" / "part-1.parquet")
    pq.write_table(CASES.slice(4), folder / "case" / "late" / "part-2.parquet")  # **/*.parquet
    pq.write_table(TASKS, folder / "task" / "part-0.parquet")
    return ParquetStagingSource(path=str(folder))


def duckdb_file(tmp_path: Path, request: pytest.FixtureRequest | None = None) -> StagingSource:
    file = tmp_path / "staging.duckdb"
    with duckdb.connect(str(file)) as con:
        con.register("cases", CASES)
        con.register("tasks", TASKS)
        con.execute('CREATE TABLE "Case" AS SELECT * FROM cases')  # case-insensitive match
        con.execute("CREATE TABLE task AS SELECT * FROM tasks")
    return DuckDBStagingSource(path=str(file))


def sqlite_file(tmp_path: Path, request: pytest.FixtureRequest | None = None) -> StagingSource:
    url = f"sqlite:///{tmp_path / 'staging.sqlite'}"
    load_sql(url, schema=None, task_name="Task")
    source = SqlStagingSource.from_url(url, fetch_rows=2)
    if request is not None:
        request.addfinalizer(source.close)
    return source


def postgres_database(tmp_path: Path, request: pytest.FixtureRequest) -> StagingSource:
    url = request.getfixturevalue("postgres_database_url")
    load_sql(url, schema="udp")
    source = SqlStagingSource.from_url(url, fetch_rows=2)
    request.addfinalizer(source.close)
    return source


SOURCES = [
    pytest.param(parquet_single_files, id="parquet-single-files"),
    pytest.param(parquet_folders, id="parquet-folders"),
    pytest.param(duckdb_file, id="duckdb-file"),
    pytest.param(sqlite_file, id="sqlite"),
    pytest.param(postgres_database, id="postgres", marks=pytest.mark.postgres),
]


# --------------------------------------------------------------------------- #
# One contract, every source.                                                  #
# --------------------------------------------------------------------------- #


@pytest.mark.parametrize("make_source", SOURCES)
def test_every_source_exposes_its_tables_with_all_rows(make_source, tmp_path, request):
    """Each source registers raw_case and raw_task with every row and returns only the tables it holds."""
    source = make_source(tmp_path, request)
    with duckdb.connect() as con:
        assert source.register(con) == {"case", "task"}
        assert rows(con, "case", '"Id", "CaseNumber", "Subject"') == [
            (r["Id"], r["CaseNumber"], r["Subject"]) for r in CASES.to_pylist()
        ]
        assert rows(con, "task", '"Id", "WhatId", "Type"') == [tuple(r.values()) for r in TASKS.to_pylist()]
        assert con.execute("SELECT count(*) FROM duckdb_tables() WHERE table_name = 'raw_workorder'").fetchall() == [(0,)]


@pytest.mark.parametrize("make_source", SOURCES)
def test_every_source_keeps_columns_outside_the_contract(make_source, tmp_path, request):
    """Extra columns reach DuckDB unchanged, so the extract stage (not the source) decides."""
    source = make_source(tmp_path, request)
    with duckdb.connect() as con:
        source.register(con)
        assert column_names(con, "case") == CASES.column_names
        assert rows(con, "case", '"Custom__c"') == [(v,) for v in CASES["Custom__c"].to_pylist()]


@pytest.mark.parametrize("make_source", SOURCES)
def test_every_source_describes_its_location(make_source, tmp_path, request):
    """describe() names where the data is (the folder, file or database)."""
    source = make_source(tmp_path, request)
    if request.node.callspec.id == "postgres":
        location = sa.make_url(request.getfixturevalue("postgres_database_url")).database
    else:
        location = str(tmp_path)
    assert location in source.describe()


@pytest.mark.parametrize("make_source", SOURCES)
def test_every_source_can_register_twice_on_one_connection(make_source, tmp_path, request):
    """A second register replaces the relations instead of failing or doubling rows."""
    source = make_source(tmp_path, request)
    with duckdb.connect() as con:
        source.register(con)
        assert source.register(con) == {"case", "task"}
        assert len(rows(con, "case")) == CASES.num_rows


# --------------------------------------------------------------------------- #
# Parquet folder.                                                              #
# --------------------------------------------------------------------------- #


def test_parquet_missing_optional_table_is_not_returned(tmp_path):
    """A folder with only case.parquet registers case alone; an empty task/ folder counts as missing."""
    pq.write_table(CASES, tmp_path / "case.parquet")
    (tmp_path / "task").mkdir()
    with duckdb.connect() as con:
        assert ParquetStagingSource(path=str(tmp_path)).register(con) == {"case"}
        with pytest.raises(duckdb.CatalogException):
            con.execute("SELECT * FROM raw_task")


def test_parquet_missing_case_table_names_it(tmp_path):
    """Without case data the source refuses, naming the case table and the folder."""
    pq.write_table(TASKS, tmp_path / "task.parquet")
    with duckdb.connect() as con, pytest.raises(StagingUnreadable, match="'case' is required") as err:
        ParquetStagingSource(path=str(tmp_path)).register(con)
    assert str(tmp_path) in str(err.value)
    assert isinstance(err.value, TerminalServiceError)


def test_parquet_missing_folder_names_the_path(tmp_path):
    """A folder that does not exist is a StagingUnreadable naming the path."""
    missing = tmp_path / "nowhere"
    with duckdb.connect() as con, pytest.raises(StagingUnreadable, match="nowhere"):
        ParquetStagingSource(path=str(missing)).register(con)


def test_parquet_folder_files_with_different_columns_combine_by_name(tmp_path):
    """Files of one table with different column sets are unioned by name (missing values NULL)."""
    (tmp_path / "case").mkdir()
    pq.write_table(pa.table({"Id": ["500A"], "Subject": ["a"]}), tmp_path / "case" / "p0.parquet")
    pq.write_table(pa.table({"Subject": ["b"], "Id": ["500B"], "Later__c": [1]}), tmp_path / "case" / "p1.parquet")
    with duckdb.connect() as con:
        ParquetStagingSource(path=str(tmp_path)).register(con)
        assert rows(con, "case", '"Id", "Subject", "Later__c"') == [("500A", "a", None), ("500B", "b", 1)]


def test_parquet_skips_hidden_and_bookkeeping_files(tmp_path):
    """_SUCCESS, _temporary/ and .hidden.parquet files in a table folder are not read as data."""
    (tmp_path / "case" / "_temporary").mkdir(parents=True)
    pq.write_table(CASES, tmp_path / "case" / "part-0.parquet")
    pq.write_table(CASES, tmp_path / "case" / "_temporary" / "part-0.parquet")
    pq.write_table(CASES, tmp_path / "case" / ".part-1.parquet")
    (tmp_path / "case" / "_SUCCESS").write_text("")
    with duckdb.connect() as con:
        ParquetStagingSource(path=str(tmp_path)).register(con)
        assert len(rows(con, "case")) == CASES.num_rows


def test_parquet_table_names_match_case_insensitively(tmp_path):
    """Case.parquet and a Task/ folder count as the case and task tables."""
    pq.write_table(CASES, tmp_path / "Case.parquet")
    (tmp_path / "Task").mkdir()
    pq.write_table(TASKS, tmp_path / "Task" / "part-0.parquet")
    with duckdb.connect() as con:
        assert ParquetStagingSource(path=str(tmp_path)).register(con) == {"case", "task"}


def test_parquet_spark_style_table_folder_counts(tmp_path):
    """A folder named case.parquet holding part files (Spark's layout) is the case table."""
    (tmp_path / "case.parquet").mkdir()
    pq.write_table(CASES, tmp_path / "case.parquet" / "part-00000-1b2c.snappy.parquet")
    (tmp_path / "case.parquet" / "_SUCCESS").write_text("")
    with duckdb.connect() as con:
        assert ParquetStagingSource(path=str(tmp_path)).register(con) == {"case"}
        assert len(rows(con, "case")) == CASES.num_rows


def test_parquet_file_and_folder_for_one_table_is_ambiguous(tmp_path):
    """Both case.parquet and case/ present is an error, not a silent choice."""
    pq.write_table(CASES, tmp_path / "case.parquet")
    (tmp_path / "case").mkdir()
    pq.write_table(CASES, tmp_path / "case" / "part-0.parquet")
    with duckdb.connect() as con, pytest.raises(StagingUnreadable, match="ambiguous"):
        ParquetStagingSource(path=str(tmp_path)).register(con)


def test_parquet_paths_with_quotes_are_read_literally(tmp_path):
    """A quote in a folder or file name is escaped, so the view reads exactly that file."""
    folder = tmp_path / "it's staging"
    (folder / "case").mkdir(parents=True)
    pq.write_table(CASES, folder / "case" / "o'brien.parquet")
    with duckdb.connect() as con:
        assert ParquetStagingSource(path=str(folder)).register(con) == {"case"}
        assert len(rows(con, "case")) == CASES.num_rows


def test_parquet_corrupt_file_names_the_table(tmp_path):
    """A file that is not Parquet raises StagingUnreadable naming the table and the file."""
    pq.write_table(CASES, tmp_path / "case.parquet")
    (tmp_path / "task.parquet").write_text("not parquet")
    with duckdb.connect() as con, pytest.raises(StagingUnreadable, match=r"'task'.*task\.parquet"):
        ParquetStagingSource(path=str(tmp_path)).register(con)


def test_parquet_hive_partitions_become_columns(tmp_path):
    """Files under case/year=2025/ are read, with the partition as an extra column."""
    (tmp_path / "case" / "year=2025").mkdir(parents=True)
    pq.write_table(CASES, tmp_path / "case" / "year=2025" / "part-0.parquet")
    with duckdb.connect() as con:
        ParquetStagingSource(path=str(tmp_path)).register(con)
        assert "year" in column_names(con, "case")
        assert len(rows(con, "case")) == CASES.num_rows


# --------------------------------------------------------------------------- #
# DuckDB file.                                                                 #
# --------------------------------------------------------------------------- #


def test_duckdb_file_is_attached_read_only(tmp_path):
    """The staging file is attached READ_ONLY: the pipeline cannot change it."""
    source = duckdb_file(tmp_path)
    with duckdb.connect() as con:
        source.register(con)
        alias = con.execute(
            "SELECT database_name FROM duckdb_databases() WHERE path = ?", [str(tmp_path / "staging.duckdb")]
        ).fetchall()[0][0]
        assert con.execute("SELECT readonly FROM duckdb_databases() WHERE database_name = ?", [alias]).fetchall() == [
            (True,)
        ]
        with pytest.raises(duckdb.Error):
            con.execute(f'DELETE FROM "{alias}".main."Case"')


def test_duckdb_file_reads_views_and_other_schemas(tmp_path):
    """Tables in the configured schema count, views included; other schemas are ignored."""
    file = tmp_path / "staging.duckdb"
    with duckdb.connect(str(file)) as con:
        con.register("cases", CASES)
        con.execute("CREATE TABLE main.\"case\" AS SELECT * FROM cases")
        con.execute("CREATE SCHEMA udp")
        con.execute("CREATE TABLE udp.case_data AS SELECT * FROM cases")
        con.execute("CREATE VIEW udp.\"CASE\" AS SELECT * FROM udp.case_data WHERE NOT \"IsDeleted\"")
    with duckdb.connect() as con:
        assert DuckDBStagingSource(path=str(file), schema="udp").register(con) == {"case"}
        assert len(rows(con, "case")) == CASES.num_rows - 1


def test_duckdb_missing_file_names_the_path(tmp_path):
    """A DuckDB file that does not exist raises StagingUnreadable naming it."""
    with duckdb.connect() as con, pytest.raises(StagingUnreadable, match="absent.duckdb"):
        DuckDBStagingSource(path=str(tmp_path / "absent.duckdb")).register(con)


def test_duckdb_missing_case_table_names_it(tmp_path):
    """A DuckDB file without a case table raises StagingUnreadable naming the case table."""
    file = tmp_path / "staging.duckdb"
    with duckdb.connect(str(file)) as con:
        con.execute("CREATE TABLE task (Id VARCHAR)")
    with duckdb.connect() as con, pytest.raises(StagingUnreadable, match="'case' is required"):
        DuckDBStagingSource(path=str(file)).register(con)


def test_duckdb_missing_schema_names_it(tmp_path):
    """A schema that is not in the file raises StagingUnreadable naming the schema."""
    source = duckdb_file(tmp_path)
    source.schema = "udp"
    with duckdb.connect() as con, pytest.raises(StagingUnreadable, match="schema 'udp' not found"):
        source.register(con)


def test_duckdb_file_that_is_not_a_database_is_unreadable(tmp_path):
    """A file that is not a DuckDB database raises StagingUnreadable, not a DuckDB error."""
    file = tmp_path / "staging.duckdb"
    file.write_text("not a database" * 1000)
    with duckdb.connect() as con, pytest.raises(StagingUnreadable, match="staging.duckdb"):
        DuckDBStagingSource(path=str(file)).register(con)


# --------------------------------------------------------------------------- #
# SQL database: SQLite.                                                        #
# --------------------------------------------------------------------------- #


def test_sqlite_reads_every_column_as_text(tmp_path):
    """SQLite has no real column types, so every column arrives as VARCHAR for the extract stage to cast."""
    source = sqlite_file(tmp_path)
    with duckdb.connect() as con:
        source.register(con)
        assert set(column_types(con, "case").values()) == {"VARCHAR"}
        created, deleted = con.execute(
            'SELECT TRY_CAST("CreatedDate" AS TIMESTAMP), TRY_CAST("IsDeleted" AS BOOLEAN) FROM raw_case '
            "WHERE \"Id\" = '500C'"
        ).fetchall()[0]
        assert (created, deleted) == (dt.datetime(2025, 10, 3, 9, 30), True)


def test_sqlite_missing_case_table_names_it(tmp_path):
    """A database without a case table raises StagingUnreadable naming the case table."""
    url = f"sqlite:///{tmp_path / 'staging.sqlite'}"
    engine = sa.create_engine(url)
    with engine.begin() as conn:
        conn.exec_driver_sql('CREATE TABLE task ("Id" TEXT)')
    engine.dispose()
    with duckdb.connect() as con, pytest.raises(StagingUnreadable, match="'case' is required"):
        SqlStagingSource.from_url(url).register(con)


def test_sql_source_masks_passwords_in_describe():
    """describe() never shows the password, in the URL or in its query string."""
    source = SqlStagingSource.from_url(
        "postgresql+psycopg://etl:s3cr3t@db.example:5432/sfdc?sslpassword=k3y&application_name=pipeline"
    )
    text = source.describe()
    assert "s3cr3t" not in text and "k3y" not in text
    assert "s3cr3t" not in repr(source)
    assert "etl:***@db.example:5432/sfdc" in text and "application_name=pipeline" in text
    assert text.endswith("schema udp")


# --------------------------------------------------------------------------- #
# SQL database: PostgreSQL.                                                    #
# --------------------------------------------------------------------------- #


@pytest.mark.postgres
def test_postgres_udp_schema_is_read_in_chunks(postgres_database_url):
    """Tables in udp (case quoted, mixed-case names) arrive complete with fetch_rows=2, types kept."""
    load_sql(postgres_database_url, schema="udp", task_name="Task")
    source = SqlStagingSource.from_url(postgres_database_url, fetch_rows=2)
    with duckdb.connect() as con, source:
        assert source.register(con) == {"case", "task"}
        assert rows(con, "case", '"Id", "CaseNumber", "Subject", "CreatedDate", "IsDeleted", "Custom__c"') == [
            tuple(r.values()) for r in CASES.to_pylist()
        ]
        assert rows(con, "task", '"Id", "WhatId", "Type"') == [tuple(r.values()) for r in TASKS.to_pylist()]
        types = column_types(con, "case")
        assert (types["CreatedDate"], types["IsDeleted"], types["Subject"]) == ("TIMESTAMP", "BOOLEAN", "VARCHAR")


@pytest.mark.postgres
def test_postgres_types_outside_arrow_arrive_as_text(postgres_database_url):
    """timestamptz stays a UTC instant, numeric(p,s) a decimal, and jsonb/uuid/arrays arrive as text."""
    engine = sa.create_engine(postgres_database_url)
    with engine.begin() as conn:
        conn.exec_driver_sql("CREATE SCHEMA udp")
        conn.exec_driver_sql(
            'CREATE TABLE udp."case" ("Id" text, "LastModifiedDate" timestamptz, "Amount__c" numeric(10,2), '
            '"Score__c" numeric, "Payload__c" jsonb, "Ref__c" uuid, "Tags__c" text[])'
        )
        conn.exec_driver_sql(
            "INSERT INTO udp.\"case\" VALUES ('500A', '2025-10-01 11:30:00+02', 12.50, 1.25, "
            "'{\"a\": 1}', '00000000-0000-0000-0000-000000000001', ARRAY['x','y'])"
        )
    engine.dispose()
    with duckdb.connect() as con, SqlStagingSource.from_url(postgres_database_url) as source:
        con.execute("SET TimeZone = 'UTC'")
        assert source.register(con) == {"case"}
        types = column_types(con, "case")
        assert types["LastModifiedDate"] == "TIMESTAMP WITH TIME ZONE"
        assert types["Amount__c"] == "DECIMAL(10,2)"
        assert {types[c] for c in ("Score__c", "Payload__c", "Ref__c", "Tags__c")} == {"VARCHAR"}
        row = con.execute(
            'SELECT "LastModifiedDate", "Amount__c", "Score__c", "Payload__c", "Ref__c", "Tags__c" FROM raw_case'
        ).fetchall()[0]
        assert row == (
            dt.datetime(2025, 10, 1, 9, 30, tzinfo=UTC),
            Decimal("12.50"),
            "1.25",
            '{"a": 1}',
            "00000000-0000-0000-0000-000000000001",
            "{x,y}",
        )


@pytest.mark.postgres
def test_postgres_missing_schema_names_it(postgres_database_url):
    """A schema that does not exist raises StagingUnreadable naming it."""
    with duckdb.connect() as con, SqlStagingSource.from_url(postgres_database_url, schema="nope") as source:
        with pytest.raises(StagingUnreadable, match="schema 'nope' not found"):
            source.register(con)


@pytest.mark.postgres
def test_postgres_session_database_with_connector_block(postgres_url):
    """A SqlStagingSource built on a SqlAlchemyConnector reads an isolated schema of the session database."""
    from prefect_sqlalchemy import SqlAlchemyConnector

    schema = "udp_staging_sources_test"
    engine = sa.create_engine(postgres_url)
    with engine.begin() as conn:
        conn.execute(sa.text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
    engine.dispose()
    load_sql(postgres_url, schema=schema)
    source = SqlStagingSource(connector=SqlAlchemyConnector(connection_info=postgres_url), schema=schema, fetch_rows=3)
    try:
        with duckdb.connect() as con, source:
            assert source.register(con) == {"case", "task"}
            assert len(rows(con, "case")) == CASES.num_rows
    finally:
        engine = sa.create_engine(postgres_url)
        with engine.begin() as conn:
            conn.execute(sa.text(f'DROP SCHEMA "{schema}" CASCADE'))
        engine.dispose()
