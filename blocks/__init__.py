"""Swappable blocks: interfaces and their implementations.

Every concrete block is imported here so that ``Block.load("type/name")``
finds its class (Prefect only resolves classes that have been imported).
Vendor SDKs stay lazy inside each block, so this import is cheap.
"""

from blocks.duckdb_store import DuckDBVectorStore
from blocks.embedder import Embedder
from blocks.hashing_embedder import HashingEmbedder
from blocks.lineage import LineageStore
from blocks.ollama_embedder import OllamaEmbedder
from blocks.openai_embedder import AzureOpenAIEmbedder, OpenAIEmbedder
from blocks.pii_redactor import PiiRedactor
from blocks.presidio_redactor import PresidioRedactor
from blocks.staging_files import DuckDBStagingSource, ParquetStagingSource
from blocks.staging_source import StagingSource
from blocks.staging_sql import SqlStagingSource
from blocks.vector_store import VectorStore
from blocks.weaviate_store import WeaviateStore

__all__ = [
    "AzureOpenAIEmbedder",
    "OllamaEmbedder",
    "OpenAIEmbedder",
    "DuckDBStagingSource",
    "DuckDBVectorStore",
    "Embedder",
    "HashingEmbedder",
    "LineageStore",
    "ParquetStagingSource",
    "PiiRedactor",
    "PresidioRedactor",
    "SqlStagingSource",
    "StagingSource",
    "VectorStore",
    "WeaviateStore",
]
