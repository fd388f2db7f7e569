"""Breaker and cache settings in the configuration file; ``python -m flows.run reembed`` as other tools call it."""

from __future__ import annotations

import json

import pytest

from flows.config import ConfigError, load_blocks
from flows.embedding_guard import open_cache


def test_breaker_and_cache_settings_have_defaults_and_can_be_set(tmp_path):
    """No tables: threshold 3, cool-down 30 s, no cache for hashing; [embedder.breaker]/[embedder.cache] change them."""
    defaults = load_blocks(home=tmp_path / "h")
    assert (defaults.breaker.failure_threshold, defaults.breaker.cooldown_s) == (3, 30.0)
    assert open_cache(defaults) is None  # hashing embedders cost nothing to rerun
    cfg = tmp_path / "p.toml"
    cfg.write_text('[embedder.primary]\ntype = "hashing"\ndimensions = 64\n'
                   '[embedder.breaker]\nfailure_threshold = 5\ncooldown_s = 900\n'
                   '[embedder.cache]\nenabled = true\npath = "cache/vectors.sqlite"\nmax_entries = 10\n')
    blocks = load_blocks(cfg, home=tmp_path / "h")
    assert (blocks.breaker.failure_threshold, blocks.breaker.cooldown_s) == (5, 900.0)
    cache = open_cache(blocks)
    assert cache.path == tmp_path / "cache" / "vectors.sqlite" and cache.max_entries == 10


def test_breaker_fields_beside_the_primary_fields_are_accepted(tmp_path):
    """cooldown_s under [embedder.primary] configures the breaker, not the embedder block."""
    cfg = tmp_path / "p.toml"
    cfg.write_text('[embedder.primary]\ntype = "hashing"\ndimensions = 64\ncooldown_s = 120\n')
    assert load_blocks(cfg, home=tmp_path / "h").breaker.cooldown_s == 120


def test_bad_breaker_settings_name_the_table(tmp_path):
    """A zero threshold is refused naming [embedder.breaker]."""
    cfg = tmp_path / "p.toml"
    cfg.write_text('[embedder.primary]\ntype = "hashing"\ndimensions = 64\n[embedder.breaker]\nfailure_threshold = 0\n')
    with pytest.raises(ConfigError, match=r"\[embedder.breaker\]"):
        load_blocks(cfg, home=tmp_path / "h")


@pytest.mark.slow
def test_reembed_command_prints_json_and_does_nothing_when_nothing_waits(prefect_harness, tmp_path, capsys):
    """`reembed --json` runs the fallback_reembed flow: nothing to do on an empty home, exit 0, one JSON object."""
    from flows.run import main

    assert main(["reembed", "--home", str(tmp_path / "home"), "--json", "--limit", "10"]) == 0
    summary = json.loads(capsys.readouterr().out)
    assert (summary["status"], summary["reembedded"], summary["remaining"]) == ("nothing_to_do", 0, 0)
    assert summary["primary_model"].endswith("3072")
