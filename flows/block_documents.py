"""Saving the configured blocks on the Prefect server, so deployments name them.

A deployment that reads a configuration file needs that file, and its
secrets in environment variables, on every worker. Saved as block documents,
the blocks live on the Prefect server instead: Prefect stores block data
encrypted and masks ``SecretStr`` fields (API keys, the lineage database
password, the pseudonym key) whenever a document is read without asking for
secrets, and ``Block.load`` returns them only to the flow that loads the
block. Deployments then pass ``block_names`` (section -> document name), or
a configuration file says ``block = "name"`` per section (``flows.config``).

``python -m flows.run register-blocks --prefix case`` saves
``case-staging``, ``case-redactor``, ``case-embedder-primary``,
``case-embedder-fallback`` (when configured), ``case-store`` and
``case-lineage``, overwriting documents of the same name.
"""

from __future__ import annotations

import re

from flows.config import ConfigError, PipelineBlocks

__all__ = ["document_name", "register_blocks"]

#: section -> attribute of ``PipelineBlocks`` holding its block
_ATTRIBUTE = {"staging": "staging", "redactor": "redactor", "embedder.primary": "primary",
              "embedder.fallback": "fallback", "store": "store", "lineage": "lineage"}
_NAME = re.compile(r"^[a-z0-9][a-z0-9-]*$")  # what Prefect accepts as a block document name


def document_name(prefix: str, section: str) -> str:
    """``<prefix>-<section>`` with dots as dashes: ``case-embedder-primary``."""
    if not _NAME.match(prefix):
        raise ConfigError(f"block name prefix must be lower-case letters, digits and dashes, got {prefix!r}")
    return f"{prefix}-{section.replace('.', '-')}"


def register_blocks(blocks: PipelineBlocks, prefix: str) -> dict[str, str]:
    """Save every configured block as ``<prefix>-<section>``; returns section -> document name.

    The mapping is what a deployment passes as ``block_names``.
    """
    names = {section: document_name(prefix, section) for section in _ATTRIBUTE}
    saved = {}
    for section, attribute in _ATTRIBUTE.items():
        block = getattr(blocks, attribute)
        if block is None:  # no fallback embedder configured
            continue
        block.save(names[section], overwrite=True)
        saved[section] = names[section]
    return saved
