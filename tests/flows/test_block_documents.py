"""Blocks saved on a Prefect server and loaded by name: register-blocks, ``block = "name"``, ``block_names``."""

from __future__ import annotations

import json

import pytest
from prefect.client.orchestration import get_client

from flows.block_documents import _ATTRIBUTE, document_name, register_blocks
from flows.config import BLOCK_SECTIONS, ConfigError, load_blocks
from flows.run import main

PG_PASSWORD = "lineage-pw-not-for-logs"
PSEUDONYM_KEY = "pseudonym-key-not-for-logs"


@pytest.fixture
def secret_config(tmp_path, monkeypatch):
    """A configuration with two secrets: the lineage database password and the redactor's pseudonym key."""
    monkeypatch.setenv("TEST_PSEUDONYM_KEY", PSEUDONYM_KEY)
    cfg = tmp_path / "p.toml"
    cfg.write_text(
        '[redactor]\ntype = "presidio"\noperator = "pseudonym"\npseudonym_key_env = "TEST_PSEUDONYM_KEY"\n'
        '[embedder.primary]\ntype = "hashing"\ndimensions = 96\n'
        '[embedder.fallback]\ntype = "hashing"\ndimensions = 48\n'
        f'[lineage]\nurl = "postgresql+psycopg://pipeline:{PG_PASSWORD}@127.0.0.1:5999/lineage"\n'
    )
    return cfg


def _raw_document(name: str, slug: str) -> dict:
    """The document as the API returns it to anyone who does not ask for secrets."""
    with get_client(sync_client=True) as client:
        return client.read_block_document_by_name(name, slug, include_secrets=False).data


def test_every_section_has_a_blocks_attribute():
    """register_blocks covers exactly the sections a configuration can name."""
    assert set(_ATTRIBUTE) == set(BLOCK_SECTIONS)


def test_registered_blocks_load_back_by_name_with_their_secrets(prefect_harness, secret_config, tmp_path):
    """Saved as <prefix>-<section> and loaded through block_names: same types, fields and secrets."""
    original = load_blocks(secret_config, home=tmp_path / "home")
    names = register_blocks(original, "rt")
    assert names == {s: document_name("rt", s) for s in BLOCK_SECTIONS}

    loaded = load_blocks(home=tmp_path / "other-home", block_names=names)

    for attr in ("staging", "redactor", "primary", "fallback", "store"):
        assert type(getattr(loaded, attr)) is type(getattr(original, attr))
    assert (loaded.primary.vector_size, loaded.fallback.vector_size) == (96, 48)
    assert loaded.store.path == original.store.path  # the saved document, not the other home's default
    assert loaded.redactor.pseudonym_key.get_secret_value() == PSEUDONYM_KEY
    assert loaded.lineage.url.password == PG_PASSWORD and loaded.lineage.url.port == 5999


def test_secrets_are_stored_as_secrets(prefect_harness, secret_config, tmp_path):
    """Read without include_secrets, the saved documents mask the SecretStr fields."""
    register_blocks(load_blocks(secret_config, home=tmp_path / "home"), "sec")
    redactor = json.dumps(_raw_document("sec-redactor", "presidio-redactor"), default=str)
    assert PSEUDONYM_KEY not in redactor and "pseudonym_key" in redactor
    lineage = _raw_document("sec-lineage", "lineage-store")
    assert lineage["connector"]["connection_info"]["password"] == "********"
    assert PG_PASSWORD not in json.dumps(lineage, default=str)


def test_a_section_names_its_block_document_in_the_file(prefect_harness, tmp_path):
    """``[store] block = "name"`` loads that DuckDB store document; other sections still come from the file."""
    saved = load_blocks(home=tmp_path / "saved-home")
    register_blocks(saved, "file")
    cfg = tmp_path / "by-name.toml"
    cfg.write_text('[store]\nblock = "file-store"\n[embedder.primary]\ntype = "hashing"\ndimensions = 32\n')
    blocks = load_blocks(cfg, home=tmp_path / "home")
    assert blocks.store.path == str(tmp_path / "saved-home" / "vectors.duckdb")
    assert blocks.primary.vector_size == 32


def test_block_names_override_the_file(prefect_harness, tmp_path):
    """A flow's block_names wins over the same section of the configuration file."""
    register_blocks(load_blocks(home=tmp_path / "saved-home"), "over")
    cfg = tmp_path / "p.toml"
    cfg.write_text('[store]\ntype = "duckdb"\npath = "elsewhere.duckdb"\n')
    blocks = load_blocks(cfg, home=tmp_path / "home", block_names={"store": "over-store"})
    assert blocks.store.path == str(tmp_path / "saved-home" / "vectors.duckdb")


@pytest.mark.parametrize(("text", "names", "expected"), [
    ('[store]\nblock = "no-such-store"\n', None, "[store] no block document named 'no-such-store'"),
    ('[store]\nblock = "x"\npath = "p.duckdb"\n', None, "takes no other fields, found ['path']"),
    ("", {"storage": "x"}, "unknown sections ['storage']"),
    ('[lineage]\nblock = "no-such-lineage"\n', None, "[lineage] no block document named 'no-such-lineage'"),
])
def test_bad_block_references_name_the_section(prefect_harness, tmp_path, text, names, expected):
    """A missing document, extra fields beside block, or an unknown section raise ConfigError naming it."""
    cfg = tmp_path / "bad.toml"
    cfg.write_text(text)
    with pytest.raises(ConfigError) as err:
        load_blocks(cfg, home=tmp_path, block_names=names)
    assert expected in str(err.value)


def test_register_blocks_command_prints_names_not_secrets(prefect_harness, secret_config, tmp_path, capsys):
    """``python -m flows.run register-blocks`` saves the blocks and prints the block_names mapping only."""
    assert main(["register-blocks", "--config", str(secret_config), "--home", str(tmp_path / "h"),
                 "--prefix", "cli"]) == 0
    out = capsys.readouterr().out
    assert json.loads(out)["block_names"]["embedder.primary"] == "cli-embedder-primary"
    assert PG_PASSWORD not in out and PSEUDONYM_KEY not in out
    assert load_blocks(home=tmp_path, block_names={"redactor": "cli-redactor"}).redactor.operator == "pseudonym"
    assert main(["register-blocks", "--home", str(tmp_path), "--prefix", "Bad Prefix"]) == 2
