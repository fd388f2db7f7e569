"""The configuration file chooses and configures blocks without code changes."""

from __future__ import annotations

import pytest

from flows.config import ConfigError, load_blocks


def test_defaults_are_embedded(tmp_path):
    """With no file: Parquet staging, presidio, hashing 3072 + 768, DuckDB store, SQLite lineage under home."""
    blocks = load_blocks(home=tmp_path)
    assert type(blocks.staging).__name__ == "ParquetStagingSource"
    assert (blocks.primary.vector_size, blocks.fallback.vector_size) == (3072, 768)
    assert type(blocks.store).__name__ == "DuckDBVectorStore" and str(tmp_path) in blocks.store.path
    assert "sqlite" in str(blocks.lineage.url)


def test_file_chooses_blocks_and_resolves_relative_paths(tmp_path):
    """Types and fields come from the file; relative paths resolve against its folder."""
    (tmp_path / "conf").mkdir()
    cfg = tmp_path / "conf" / "p.toml"
    cfg.write_text(
        '[staging]\ntype = "duckdb"\npath = "stage.duckdb"\n'
        '[embedder.primary]\ntype = "hashing"\ndimensions = 64\n'
        '[pipeline]\nbatch_size = 7\n'
    )
    blocks = load_blocks(cfg, home=tmp_path / "home")
    assert type(blocks.staging).__name__ == "DuckDBStagingSource"
    assert blocks.staging.path == str(tmp_path / "conf" / "stage.duckdb")
    assert blocks.primary.vector_size == 64 and blocks.fallback is None
    assert blocks.settings.batch_size == 7


def test_env_indirection_reads_variable(tmp_path, monkeypatch):
    """``<field>_env`` reads the field from an environment variable."""
    url = f"sqlite:///{tmp_path / 'other.db'}"
    monkeypatch.setenv("LINEAGE_URL_FOR_TEST", url)
    cfg = tmp_path / "p.toml"
    cfg.write_text('[lineage]\nurl_env = "LINEAGE_URL_FOR_TEST"\n')
    assert "other.db" in str(load_blocks(cfg, home=tmp_path).lineage.url)


@pytest.mark.parametrize("text, expected", [
    ('[store]\ntype = "nope"\n', "[store] type 'nope' is unknown"),
    ('[embedder.primary]\ntype = "hashing"\ndimensions = "many"\n', "[embedder.primary]"),
    ('[lineage]\nurl_env = "UNSET_VARIABLE_FOR_TEST"\n', "UNSET_VARIABLE_FOR_TEST"),
    ('[pipeline]\nbatch_size = 0\n', "[pipeline]"),
    ("not toml [", "not valid TOML"),
])
def test_bad_files_name_the_problem(tmp_path, text, expected):
    """A bad file raises ConfigError naming the table or variable at fault."""
    cfg = tmp_path / "bad.toml"
    cfg.write_text(text)
    with pytest.raises(ConfigError) as err:
        load_blocks(cfg, home=tmp_path)
    assert expected in str(err.value)


def test_sql_staging_from_url_and_iso_overlap(tmp_path):
    """``[staging] type = "sql"`` takes a URL; ``overlap`` takes an ISO 8601 duration."""
    cfg = tmp_path / "p.toml"
    cfg.write_text(f'[staging]\ntype = "sql"\nurl = "sqlite:///{tmp_path / "s.db"}"\nschema = "main"\n'
                   '[pipeline]\noverlap = "PT30M"\n')
    blocks = load_blocks(cfg, home=tmp_path)
    assert type(blocks.staging).__name__ == "SqlStagingSource"
    assert blocks.settings.overlap.total_seconds() == 1800


def test_prune_removes_only_old_runs(tmp_path):
    """Run folders older than the retention period are deleted; recent and kept ones stay."""
    import os
    import time

    from flows.run_state import prune_runs

    for name in ("old", "recent", "current"):
        (tmp_path / name).mkdir()
    past = time.time() - 20 * 86400
    os.utime(tmp_path / "old", (past, past))
    os.utime(tmp_path / "current", (past, past))
    assert prune_runs(tmp_path, retention_days=14, keep={"current"}) == ["old"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["current", "recent"]
