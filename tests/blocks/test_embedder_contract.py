"""Contract every ``Embedder`` implementation passes, plus the hashing embedder's own promises.

Add an implementation by adding a factory to ``EMBEDDER_FACTORIES`` (name ->
callable returning an embedder). Factories must be importable by a fresh
process: the cross-process test rebuilds each embedder in a subprocess.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest

from blocks.embedder import Embedder
from blocks.hashing_embedder import HashingEmbedder, _TOKEN, _tokens
from blocks.ollama_embedder import OllamaEmbedder
from blocks.openai_embedder import AzureOpenAIEmbedder, OpenAIEmbedder
from tests.embedding_standin import shared_standin

EMBEDDER_FACTORIES: dict[str, Callable[[], Embedder]] = {
    "hashing-3072": lambda: HashingEmbedder(dimensions=3072),
    "hashing-768": lambda: HashingEmbedder(dimensions=768),
    # HTTP embedders against this process's stand-in server (tests/embedding_standin.py)
    "openai-3072": lambda: OpenAIEmbedder(base_url=shared_standin().url + "/v1", model="text-embedding-3-large",
                                          dimensions=3072, api_key="sk-test"),
    "azure-openai-1536": lambda: AzureOpenAIEmbedder(base_url=shared_standin().url, model="text-embedding-3-small",
                                                     api_key="azure-test"),
    "ollama-768": lambda: OllamaEmbedder(base_url=shared_standin().url, model="nomic-embed-text", dimensions=768),
}

TEXTS = [
    "[Critical] HPE ProLiant DL380 Gen10 - Memory Health Degraded",
    "Engineer visited site and replaced faulty DIMM module 815098-B21.",
    "Error 0x80070005 in iLO_400_MemoryErrors after firmware 2.78.10 update",
    "Straße, Zürich: Lüfter defekt — ersetzt.",
    "   ",
]

REPO_ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(params=sorted(EMBEDDER_FACTORIES))
def embedder_name(request) -> str:
    return request.param


@pytest.fixture
def embedder(embedder_name) -> Embedder:
    return EMBEDDER_FACTORIES[embedder_name]()


@pytest.fixture(scope="module")
def subprocess_vectors(tmp_path_factory) -> dict[str, np.ndarray]:
    """Every factory's vectors for TEXTS, computed once by a fresh process with another hash seed."""
    out = tmp_path_factory.mktemp("embed") / "vectors.npz"
    script = (
        "import json, sys, numpy as np\n"
        "from tests.blocks.test_embedder_contract import EMBEDDER_FACTORIES\n"
        "texts = json.loads(sys.argv[2])\n"
        "np.savez(sys.argv[1], **{n: f().embed(texts) for n, f in EMBEDDER_FACTORIES.items()})\n"
    )
    env = {**os.environ, "PYTHONHASHSEED": "12345"}
    subprocess.run(
        [sys.executable, "-c", script, str(out), json.dumps(TEXTS)],
        cwd=REPO_ROOT, env=env, check=True, timeout=120,
    )
    with np.load(out) as data:
        return {name: data[name] for name in data.files}


def test_embed_returns_finite_float32_matrix_of_vector_size(embedder):
    """embed() returns (len(texts), vector_size) float32 with only finite values."""
    vectors = embedder.embed(TEXTS)
    assert vectors.shape == (len(TEXTS), embedder.vector_size)
    assert vectors.dtype == np.float32
    assert np.isfinite(vectors).all()
    assert embedder.model_name


def test_embed_is_deterministic_across_calls_and_instances(embedder, embedder_name):
    """The same texts give bit-identical vectors on every call and from a new instance."""
    first = embedder.embed(TEXTS)
    assert np.array_equal(first, embedder.embed(TEXTS))
    assert np.array_equal(first, EMBEDDER_FACTORIES[embedder_name]().embed(TEXTS))
    assert np.array_equal(first[1:2], embedder.embed(TEXTS[1:2]))


def test_embed_is_deterministic_across_processes(embedder, embedder_name, subprocess_vectors):
    """A fresh process with a different PYTHONHASHSEED computes identical vectors."""
    assert np.array_equal(embedder.embed(TEXTS), subprocess_vectors[embedder_name])


def test_vectors_have_unit_norm(embedder):
    """Every vector is L2-normalised."""
    norms = np.linalg.norm(embedder.embed(TEXTS), axis=1)
    assert np.allclose(norms, 1.0, atol=1e-5)


def test_empty_and_punctuation_only_texts_give_valid_vectors(embedder):
    """An empty or token-less text gives a finite unit vector, never NaN."""
    vectors = embedder.embed(["", "   ", "!!! --- ???"])
    assert np.isfinite(vectors).all()
    assert np.allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)


def test_no_texts_give_an_empty_matrix(embedder):
    """A batch of zero texts returns shape (0, vector_size)."""
    vectors = embedder.embed([])
    assert vectors.shape == (0, embedder.vector_size)
    assert vectors.dtype == np.float32


def test_similar_texts_score_higher_than_unrelated_ones(embedder):
    """Two texts about the same fault are closer than a text about something else."""
    a, b, unrelated = embedder.embed(
        [
            "Memory health degraded on ProLiant server, replaced faulty DIMM module",
            "Server memory DIMM failed; engineer replaced the DIMM module onsite",
            "Customer requests a copy of last month's invoice by post",
        ]
    )
    assert float(a @ b) > float(a @ unrelated) + 0.1
    assert float(a @ b) > float(b @ unrelated) + 0.1


def test_query_purpose_returns_same_shape(embedder):
    """embed(purpose='query') returns vectors of the same size and dtype."""
    vectors = embedder.embed(TEXTS[:2], purpose="query")
    assert vectors.shape == (2, embedder.vector_size) and vectors.dtype == np.float32


# -- HashingEmbedder only ----------------------------------------------------------


def test_hashing_model_name_names_dimensions():
    """model_name carries the algorithm and the dimensions, e.g. hashing-v1-3072."""
    assert HashingEmbedder().model_name == "hashing-v1-3072"
    assert HashingEmbedder(dimensions=768).model_name == "hashing-v1-768"
    assert HashingEmbedder(dimensions=768, max_ngram=1).model_name == "hashing-v1-768-n1"


def test_hashing_ignores_purpose_and_case_and_punctuation():
    """Documents and queries share one space; case and punctuation do not change a vector."""
    e = HashingEmbedder(dimensions=768)
    doc = e.embed(["Memory DIMM, replaced!"], purpose="document")
    assert np.array_equal(doc, e.embed(["memory dimm replaced"], purpose="query"))


def test_hashing_ascii_fast_path_matches_regex_tokenizer():
    """The bytes fast path for ASCII text yields exactly the \\w+ tokens of the lowercased text."""
    samples = ["iLO_400_MemoryErrors 0x80070005 (part 815098-B21); SN:CZJ8340F2K.", "a\tb\nC--d__e", ""]
    for text in samples:
        assert _tokens(text) == [t.encode() for t in _TOKEN.findall(text.lower())]


def test_hashing_v1_is_pinned():
    """hashing-v1 keeps its definition: the features of a known text land where they always did."""
    vector = HashingEmbedder(dimensions=768).embed(["Replace DIMM"])[0]
    nonzero = np.flatnonzero(vector)
    assert nonzero.tolist() == PINNED_INDEXES
    assert np.sign(vector[nonzero]).astype(int).tolist() == PINNED_SIGNS


def test_hashing_chunking_does_not_change_vectors():
    """Embedding in small internal chunks gives the same vectors as one big chunk."""
    texts = TEXTS * 3
    assert np.array_equal(HashingEmbedder(chunk_size=2).embed(texts), HashingEmbedder().embed(texts))


PINNED_INDEXES: list[int] = [136, 157, 248]
PINNED_SIGNS: list[int] = [-1, -1, 1]
