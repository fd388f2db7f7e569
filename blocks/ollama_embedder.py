"""``OllamaEmbedder``: Ollama's ``POST /api/embed`` over httpx.

Request ``{"model", "input": [...], "truncate": true}``, answer
``{"embeddings": [[...], ...]}``. Nomic models get their task prefixes by
default (``search_document: `` when indexing, ``search_query: `` when
searching); set ``document_prefix``/``query_prefix`` to change or disable them.
Batching, concurrency, retries, validation and the isolation of refused texts
come from ``blocks.embedding_http.HttpEmbedder``.
"""

from __future__ import annotations

from typing import Any

from pydantic import Field

from blocks.embedding_http import HttpEmbedder

__all__ = ["OllamaEmbedder"]


class OllamaEmbedder(HttpEmbedder):
    """Embeddings from an Ollama server.

    Example:
        ```python
        from blocks.ollama_embedder import OllamaEmbedder

        embedder = OllamaEmbedder.load("fallback")

        # or, without a saved block document:
        OllamaEmbedder(base_url="http://127.0.0.1:11434", model="nomic-embed-text", dimensions=768)
        ```
    """

    _block_type_name = "Ollama Embedder"
    _description = "Embeddings from an Ollama server (POST /api/embed), Nomic task prefixes by default."
    _provider = "Ollama"

    base_url: str = Field(default="http://127.0.0.1:11434", description="Root URL of the Ollama server.")
    model: str = Field(default="nomic-embed-text", description="Model name as Ollama knows it.")
    max_batch_inputs: int = Field(default=64, ge=1, description="Most texts in one request.")
    max_batch_tokens: int = Field(default=65_536, ge=1, description="Most estimated tokens in one request.")
    max_input_tokens: int = Field(
        default=8192, ge=16, description="Longer texts are cut to this many estimated tokens (Ollama also truncates)."
    )
    max_concurrency: int = Field(default=2, ge=1, le=64, description="Most requests in flight at once.")
    keep_alive: str | None = Field(default=None, description="How long Ollama keeps the model loaded, e.g. '30m'.")

    def _endpoint(self) -> str:
        return self.base_url.rstrip("/") + "/api/embed"

    def _headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.api_key.get_secret_value()}"} if self.api_key else {}

    def _payload(self, texts: list[str]) -> dict[str, Any]:
        payload: dict[str, Any] = {"model": self.model, "input": texts, "truncate": True}
        if self.keep_alive is not None:
            payload["keep_alive"] = self.keep_alive
        return payload

    def _parse(self, body: Any) -> list:
        return body["embeddings"]
