"""The configuration file: which block plays each role, and how it is set up.

One TOML table per role, each with a ``type`` and that block's fields::

    [staging]            # parquet | duckdb | sql
    [redactor]           # presidio
    [embedder.primary]   # hashing
    [embedder.fallback]  # optional
    [embedder.breaker]   # optional: failure_threshold, cooldown_s (also accepted in [embedder.primary])
    [embedder.cache]     # optional: enabled, path, max_entries, max_age_days
    [store]              # duckdb
    [lineage]            # url = SQLAlchemy URL
    [pipeline]           # PipelineSettings fields (batch sizes, overlap, ...)
    [alerts]             # AlertSettings fields (thresholds), and one
    [[alerts.channels]]  # table per channel: slack | pagerduty | email | webhook

A secret may be given as ``<field>_env = "VAR"``: the block gets the value of
environment variable ``VAR`` in ``<field>``. A section may instead name a
block document saved on the Prefect server, ``block = "name"`` (optionally
with ``type`` when documents of several types share the name): the block is
loaded by name, secrets included, so a deployment needs no file with
credentials (``python -m flows.run register-blocks`` saves them; the flows'
``block_names`` parameter names documents per section and wins over the
file). Relative paths are resolved
against the folder of the configuration file. With no file, the embedded
defaults: generated Parquet staging, presidio, offline hashing embedders,
a DuckDB store and a SQLite lineage database, all under the home folder.
"""

from __future__ import annotations

import importlib
import os
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from blocks.circuit_breaker import BreakerSettings
from blocks.embedding_cache import CacheSettings
from schemas.settings import PipelineSettings
from stages.alert_rules import AlertSettings

__all__ = ["PipelineBlocks", "ConfigError", "load_blocks", "default_home", "BLOCK_TYPES", "BLOCK_SECTIONS"]

#: role -> type name -> "module:Class". Modules import lazily, so an SDK is
#: only imported when its block is chosen.
BLOCK_TYPES: dict[str, dict[str, str]] = {
    "staging": {
        "parquet": "blocks.staging_files:ParquetStagingSource",
        "duckdb": "blocks.staging_files:DuckDBStagingSource",
        "sql": "blocks.staging_sql:SqlStagingSource",
    },
    "redactor": {"presidio": "blocks.presidio_redactor:PresidioRedactor"},
    "embedder": {
        "hashing": "blocks.hashing_embedder:HashingEmbedder",
        "openai": "blocks.openai_embedder:OpenAIEmbedder",
        "azure-openai": "blocks.openai_embedder:AzureOpenAIEmbedder",
        "ollama": "blocks.ollama_embedder:OllamaEmbedder",
    },
    "store": {"duckdb": "blocks.duckdb_store:DuckDBVectorStore", "weaviate": "blocks.weaviate_store:WeaviateStore"},
}

#: Configuration section -> role: the sections a saved block document can
#: play (``block = "name"``, or the ``block_names`` flow parameter).
BLOCK_SECTIONS: dict[str, str] = {
    "staging": "staging",
    "redactor": "redactor",
    "embedder.primary": "embedder",
    "embedder.fallback": "embedder",
    "store": "store",
    "lineage": "lineage",
}
# lineage is configured by URL, but a saved LineageStore can be named like any other block
_SAVED_TYPES: dict[str, dict[str, str]] = {**BLOCK_TYPES, "lineage": {"sql": "blocks.lineage:LineageStore"}}

_PATH_FIELDS = {"path"}


class ConfigError(ValueError):
    """The configuration file names an unknown type, a missing field or variable."""


@dataclass
class PipelineBlocks:
    """The blocks and settings of one pipeline, built from one configuration."""

    home: Path
    staging: Any
    redactor: Any
    primary: Any
    fallback: Any | None
    store: Any
    lineage: Any
    settings: PipelineSettings
    alert_channels: list = field(default_factory=list)
    alert_settings: AlertSettings = field(default_factory=AlertSettings)
    breaker: BreakerSettings = field(default_factory=BreakerSettings)
    cache: CacheSettings = field(default_factory=CacheSettings)


def default_home() -> Path:
    return Path(os.environ.get("PIPELINE_HOME") or ".pipeline").resolve()


def _class(role: str, type_name: str):
    try:
        target = _SAVED_TYPES[role][type_name]
    except KeyError:
        known = ", ".join(sorted(_SAVED_TYPES[role]))
        raise ConfigError(f"[{role}] type {type_name!r} is unknown; known types: {known}") from None
    module, name = target.split(":")
    return getattr(importlib.import_module(module), name)


def _fields(table: dict, where: str, base: Path) -> dict:
    out = {}
    for key, value in table.items():
        if key == "type":
            continue
        if key.endswith("_env"):
            var = str(value)
            if var not in os.environ:
                raise ConfigError(f"[{where}] {key} names environment variable {var!r}, which is not set")
            out[key[: -len("_env")]] = os.environ[var]
        elif key in _PATH_FIELDS and isinstance(value, str) and not Path(value).is_absolute():
            out[key] = str((base / value).resolve())
        else:
            out[key] = value
    return out


def _load_saved(role: str, table: dict, where: str):
    """``block = "name"``: the saved document of that name among the role's block types.

    Each type of the role is asked for the name (``type`` narrows it to one);
    a name found for two types is refused rather than guessed.
    """
    from prefect.exceptions import ObjectNotFound

    extra = sorted(set(table) - {"block", "type"})
    if extra:
        raise ConfigError(f"[{where}] block = {table['block']!r} takes no other fields, found {extra}: "
                          "they are part of the saved block")
    name = str(table["block"])
    found = []
    for type_name in [table["type"]] if "type" in table else sorted(_SAVED_TYPES[role]):
        cls = _class(role, type_name)
        try:
            found.append((type_name, cls.load(name)))
        except ValueError as exc:
            if not isinstance(exc.__cause__, ObjectNotFound):  # a document that no longer validates
                raise ConfigError(f"[{where}] block document {name!r} ({type_name}): {type(exc).__name__}: {exc}") \
                    from None
    if not found:
        types = table.get("type") or ", ".join(sorted(_SAVED_TYPES[role]))
        raise ConfigError(f"[{where}] no block document named {name!r} of type {types} on the Prefect server "
                          "(python -m flows.run register-blocks saves them)")
    if len(found) > 1:
        raise ConfigError(f"[{where}] block documents named {name!r} exist for types "
                          f"{', '.join(t for t, _ in found)}; add type = \"...\" to choose one")
    return found[0][1]


def _build(role: str, table: dict, where: str, base: Path):
    if "block" in table:
        return _load_saved(role, table, where)
    if "type" not in table:
        raise ConfigError(f"[{where}] needs a type")
    cls = _class(role, table["type"])
    fields = _fields(table, where, base)
    try:
        if "url" in fields and hasattr(cls, "from_url"):
            # database-backed blocks take a URL and build their own connector block
            return cls.from_url(**fields)
        return cls(**fields)
    except Exception as exc:  # pydantic's ValidationError names the field
        raise ConfigError(f"[{where}] {type(exc).__name__}: {exc}") from None


def load_blocks(config: Path | None = None, home: Path | None = None, staging_path: Path | None = None,
                block_names: dict[str, str] | None = None) -> PipelineBlocks:
    """Build every block from ``config`` (or the embedded defaults).

    ``block_names`` maps sections (``BLOCK_SECTIONS``) to block documents
    saved on the Prefect server; each replaces that section of the file.
    """
    block_names = dict(block_names or {})
    unknown = sorted(set(block_names) - set(BLOCK_SECTIONS))
    if unknown:
        raise ConfigError(f"block_names names unknown sections {unknown}; known: {', '.join(BLOCK_SECTIONS)}")
    home = Path(home).resolve() if home else default_home()
    data: dict = {}
    base = Path.cwd()
    if config is not None:
        config = Path(config)
        if not config.exists():
            raise ConfigError(f"configuration file {config} does not exist")
        with config.open("rb") as fh:
            try:
                data = tomllib.load(fh)
            except tomllib.TOMLDecodeError as exc:
                raise ConfigError(f"configuration file {config} is not valid TOML: {exc}") from None
        base = config.resolve().parent
    staging_table = dict(data.get("staging") or {"type": "parquet", "path": str(home / "staging")})
    if staging_path is not None:
        staging_table = {"type": "parquet", "path": str(Path(staging_path).resolve())}
    embedder = data.get("embedder") or {
        "primary": {"type": "hashing", "dimensions": 3072},
        "fallback": {"type": "hashing", "dimensions": 768},
    }
    if "primary" not in embedder:
        raise ConfigError("[embedder.primary] is required when [embedder] is given")
    primary_table = dict(embedder["primary"])
    breaker_table = dict(embedder.get("breaker") or {})
    for key in BreakerSettings.model_fields:  # breaker thresholds may also sit beside the primary's fields
        if key in primary_table:
            breaker_table.setdefault(key, primary_table.pop(key))
    try:
        breaker = BreakerSettings(**breaker_table)
    except Exception as exc:
        raise ConfigError(f"[embedder.breaker] {exc}") from None
    cache_table = dict(embedder.get("cache") or {})
    if isinstance(cache_table.get("path"), str) and not Path(cache_table["path"]).is_absolute():
        cache_table["path"] = str((base / cache_table["path"]).resolve())
    try:
        cache = CacheSettings(**cache_table)
    except Exception as exc:
        raise ConfigError(f"[embedder.cache] {exc}") from None
    store_table = dict(data.get("store") or {"type": "duckdb"})
    if store_table.get("type") == "duckdb":
        store_table.setdefault("path", str(home / "vectors.duckdb"))
    lineage_table = data.get("lineage") or {}
    url = lineage_table.get("url")
    if "url_env" in lineage_table and "lineage" not in block_names:
        url = _fields({"url_env": lineage_table["url_env"]}, "lineage", base)["url"]
    from blocks.lineage import LineageStore

    try:
        settings = PipelineSettings(**(data.get("pipeline") or {}))
    except Exception as exc:
        raise ConfigError(f"[pipeline] {exc}") from None
    from flows.alerting import build_channels  # imports ConfigError from here: keep it lazy

    alerts = dict(data.get("alerts") or {})
    try:
        alert_settings = AlertSettings(**{k: v for k, v in alerts.items() if k != "channels"})
    except Exception as exc:
        raise ConfigError(f"[alerts] {exc}") from None
    alert_channels = build_channels(alerts.get("channels") or [])
    home.mkdir(parents=True, exist_ok=True)
    tables = {
        "staging": staging_table,
        "redactor": dict(data.get("redactor") or {"type": "presidio"}),
        "embedder.primary": primary_table,
        "embedder.fallback": dict(embedder["fallback"]) if embedder.get("fallback") else None,
        "store": store_table,
        "lineage": dict(lineage_table) if "block" in lineage_table else None,  # else by URL, below
    }
    tables.update({section: {"block": name} for section, name in block_names.items()})
    built = {section: _build(role, tables[section], section, base) if tables[section] else None
             for section, role in BLOCK_SECTIONS.items()}
    return PipelineBlocks(
        home=home,
        staging=built["staging"],
        redactor=built["redactor"],
        primary=built["embedder.primary"],
        fallback=built["embedder.fallback"],
        store=built["store"],
        lineage=built["lineage"] or LineageStore.from_url(url or f"sqlite:///{home / 'lineage.db'}"),
        settings=settings,
        alert_channels=alert_channels,
        alert_settings=alert_settings,
        breaker=breaker,
        cache=cache,
    )
