"""``OpenAIEmbedder`` and ``AzureOpenAIEmbedder``: the OpenAI embeddings API over httpx.

``OpenAIEmbedder`` speaks ``POST {base_url}/embeddings`` with a bearer key:
OpenAI itself, and every OpenAI-compatible gateway (LiteLLM, vLLM, TEI,
Ollama's ``/v1``). ``AzureOpenAIEmbedder`` speaks Azure's
``POST {base_url}/openai/deployments/{deployment}/embeddings?api-version=...``
with an ``api-key`` header. Batching, concurrency, retries, validation and the
isolation of refused texts come from ``blocks.embedding_http.HttpEmbedder``.
"""

from __future__ import annotations

import base64
from typing import Any, Literal

import numpy as np
from pydantic import Field

from blocks.embedding_http import HttpEmbedder

__all__ = ["OpenAIEmbedder", "AzureOpenAIEmbedder"]


class OpenAIEmbedder(HttpEmbedder):
    """Embeddings from an OpenAI-compatible API.

    Example:
        ```python
        from blocks.openai_embedder import OpenAIEmbedder

        embedder = OpenAIEmbedder.load("primary")
        with embedder:
            vectors = embedder.embed(["Memory health degraded"])

        # or, without a saved block document:
        OpenAIEmbedder(base_url="https://gateway.example.com/v1", model="text-embedding-3-large",
                       dimensions=3072, api_key="...")
        ```
    """

    _block_type_name = "OpenAI Embedder"
    _description = "Embeddings from OpenAI or an OpenAI-compatible gateway (POST /embeddings)."
    _provider = "OpenAI-compatible"

    send_dimensions: bool = Field(
        default=True,
        description="Send `dimensions` in the request when it is set (text-embedding-ada-002 and some gateways refuse it).",
    )

    encoding_format: Literal["base64", "float"] = Field(
        default="base64",
        description="Ask for base64 vectors (what OpenAI's own client does; about 10x less CPU to read) or "
                    "float lists. Either answer is accepted; set float for a gateway that refuses base64.",
    )

    def _endpoint(self) -> str:
        return self.base_url.rstrip("/") + "/embeddings"

    def _headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.api_key.get_secret_value()}"} if self.api_key else {}

    def _payload(self, texts: list[str]) -> dict[str, Any]:
        payload: dict[str, Any] = {"model": self.model, "input": texts, "encoding_format": self.encoding_format}
        if self.dimensions is not None and self.send_dimensions:
            payload["dimensions"] = self.dimensions
        return payload

    def _parse(self, body: Any) -> list:
        data = sorted(body["data"], key=lambda item: item["index"])
        return [_decoded(item["embedding"]) for item in data]


def _decoded(embedding: Any) -> Any:
    """A base64 vector (little-endian float32) as an array; a float list as it is."""
    if isinstance(embedding, str):
        return np.frombuffer(base64.b64decode(embedding), dtype="<f4")  # bad characters -> wrong length -> refused
    return embedding


class AzureOpenAIEmbedder(OpenAIEmbedder):
    """Embeddings from an Azure OpenAI deployment.

    ``base_url`` is the resource endpoint (``https://<resource>.openai.azure.com``);
    ``deployment`` defaults to ``model``, so the configuration of the OpenAI
    variant works with only ``type = "azure-openai"`` changed.

    Example:
        ```python
        from blocks.openai_embedder import AzureOpenAIEmbedder

        embedder = AzureOpenAIEmbedder.load("primary")
        ```
    """

    _block_type_name = "Azure OpenAI Embedder"
    _description = "Embeddings from an Azure OpenAI deployment (api-key header, api-version)."
    _provider = "Azure OpenAI"

    deployment: str | None = Field(default=None, description="Deployment name; defaults to model.")
    api_version: str = Field(default="2024-10-21", description="Value of the api-version query parameter.")

    def _endpoint(self) -> str:
        deployment = self.deployment or self.model
        return f"{self.base_url.rstrip('/')}/openai/deployments/{deployment}/embeddings?api-version={self.api_version}"

    def _headers(self) -> dict[str, str]:
        return {"api-key": self.api_key.get_secret_value()} if self.api_key else {}

    def _payload(self, texts: list[str]) -> dict[str, Any]:
        payload = super()._payload(texts)
        del payload["model"]  # the deployment names the model
        return payload
