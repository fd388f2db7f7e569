"""The configuration file: which block plays each role, and how it is set up.

One TOML table per role, each with a ``type`` and that block's fields::

    [staging]            # parquet | duckdb | sql
    [redactor]           # presidio
    [embedder.primary]   # hashing
    [embedder.fallback]  # optional
    [store]              # duckdb
    [lineage]            # url = SQLAlchemy URL
    [pipeline]           # PipelineSettings fields (batch sizes, overlap, ...)
    [alerts]             # AlertSettings fields (thresholds), and one
    [[alerts.channels]]  # table per channel: slack | pagerduty | email | webhook

A secret may be given as ``<field>_env = "VAR"``: the block gets the value of
environment variable ``VAR`` in ``<field>``. Relative paths are resolved
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

from schemas.settings import PipelineSettings
from stages.alert_rules import AlertSettings

__all__ = ["PipelineBlocks", "ConfigError", "load_blocks", "default_home", "BLOCK_TYPES"]

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


def default_home() -> Path:
    return Path(os.environ.get("PIPELINE_HOME") or ".pipeline").resolve()


def _class(role: str, type_name: str):
    try:
        target = BLOCK_TYPES[role][type_name]
    except KeyError:
        known = ", ".join(sorted(BLOCK_TYPES[role]))
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


def _build(role: str, table: dict, where: str, base: Path):
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


def load_blocks(config: Path | None = None, home: Path | None = None, staging_path: Path | None = None) -> PipelineBlocks:
    """Build every block from ``config`` (or the embedded defaults)."""
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
    store_table = dict(data.get("store") or {"type": "duckdb"})
    if store_table.get("type") == "duckdb":
        store_table.setdefault("path", str(home / "vectors.duckdb"))
    lineage_table = data.get("lineage") or {}
    url = lineage_table.get("url")
    if "url_env" in lineage_table:
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
    return PipelineBlocks(
        home=home,
        staging=_build("staging", staging_table, "staging", base),
        redactor=_build("redactor", dict(data.get("redactor") or {"type": "presidio"}), "redactor", base),
        primary=_build("embedder", dict(embedder["primary"]), "embedder.primary", base),
        fallback=_build("embedder", dict(embedder["fallback"]), "embedder.fallback", base) if embedder.get("fallback") else None,
        store=_build("store", store_table, "store", base),
        lineage=LineageStore.from_url(url or f"sqlite:///{home / 'lineage.db'}"),
        settings=settings,
        alert_channels=alert_channels,
        alert_settings=alert_settings,
    )
