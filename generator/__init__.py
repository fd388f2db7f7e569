"""Synthetic staging data: six Salesforce tables with planted PII and answer keys.

``generate_staging(out_dir, cases, seed)`` writes a Parquet staging folder
that follows ``shared/design/staging-contract.md``, plus an answer key of
every planted PII value and a list of every token that must survive PII
removal, so the pipeline can be run and scored end to end without real data.
"""

from generator.staging import GenerationReport, generate_staging

__all__ = ["GenerationReport", "generate_staging"]
