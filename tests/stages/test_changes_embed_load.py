"""changes, embed and load stages on real DuckDB, Parquet and the DuckDB store."""

from __future__ import annotations

from datetime import datetime

import duckdb
import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from blocks.duckdb_store import DuckDBVectorStore
from blocks.embedder import Embedder
from blocks.errors import EmbedderRejected, EmbedderUnavailable
from blocks.hashing_embedder import HashingEmbedder
from blocks.presidio_redactor import PresidioRedactor
from schemas.settings import DateWindow
from stages.changes import plan_changes
from stages.compose import compose_cases
from stages.embed import embed_cases
from stages.extract import extract_window
from stages.load import load_cases
from stages.redact import redact_cases
from tests.stages.test_extract_compose import TASK_TYPES, _register
from tests.staging_builder import StagingBuilder

ALL = DateWindow(start=datetime(2000, 1, 1), end=datetime(2030, 1, 1))


class OutageEmbedder(Embedder):
    """Raises EmbedderUnavailable (an outage) or EmbedderRejected (terminal) on every call."""

    dims: int = 3072
    terminal: bool = False

    @property
    def model_name(self) -> str:
        return "down-model"

    @property
    def vector_size(self) -> int:
        return self.dims

    def embed(self, texts, purpose="document"):
        if self.terminal:
            raise EmbedderRejected("401 from down-model")
        raise EmbedderUnavailable("503 from down-model")


class NaNEmbedder(OutageEmbedder):
    """Answers, but with a NaN in every vector: must never be stored."""

    def embed(self, texts, purpose="document"):
        out = np.ones((len(texts), self.dims), dtype=np.float32)
        out[:, 0] = np.nan
        return out


def _state(rows=()):
    return pa.table({"record_id": pa.array([r[0] for r in rows], pa.string()),
                     "checksum": pa.array([r[1] for r in rows], pa.string()),
                     "status": pa.array([r[2] for r in rows], pa.string())})


@pytest.fixture
def composed(tmp_path):
    b = StagingBuilder()
    for i in range(5):
        b.case(f"500E{i}", Subject=f"DIMM failure {i} on DL380, call John Smith")
    b.case("500GONE", IsDeleted=True)
    con = duckdb.connect()
    extract_window(con, _register(con, b.write(tmp_path / "stg")), ALL, tmp_path / "extract")
    comp = compose_cases(con, tmp_path / "extract", tmp_path / "compose.parquet", task_types=TASK_TYPES,
                         max_text_chars=2000)
    return con, comp.path


def test_changes_skips_completed_same_checksum_only(tmp_path, composed):
    """Completed with the same checksum is skipped; another checksum, another status or no record is work."""
    con, path = composed
    sums = {r["case_id"]: r["checksum"] for r in pq.read_table(path).to_pylist()}
    state = _state([("500E0", sums["500E0"], "completed"), ("500E1", "0" * 64, "completed"),
                    ("500E2", sums["500E2"], "failed"), ("500GONE", sums["500GONE"], "deleted")])
    res = plan_changes(con, path, state, tmp_path / "changes.parquet")
    work = set(pq.read_table(res.path).column("case_id").to_pylist())
    assert work == {"500E1", "500E2", "500E3", "500E4"}
    assert (res.skipped_unchanged, res.skipped_deleted, res.upserts, res.deletes) == (1, 1, 4, 0)


def test_changes_with_every_case_to_work_is_the_compose_checkpoint(tmp_path, composed):
    """All work: the changes file is the compose file, rows in the order compose left them, whatever it was."""
    con, path = composed
    composed_rows = pq.read_table(path)
    shuffled = tmp_path / "shuffled.parquet"
    pq.write_table(composed_rows.take(list(reversed(range(composed_rows.num_rows)))), shuffled)
    for source, out in ((path, "changes.parquet"), (shuffled, "changes2.parquet")):
        res = plan_changes(con, source, _state(), tmp_path / out)
        assert pq.read_table(res.path).to_pylist() == pq.read_table(source).to_pylist()
        assert (res.upserts, res.deletes) == (5, 1)


def _through_redact(tmp_path, con, path):
    changes = plan_changes(con, path, _state(), tmp_path / "changes.parquet").path
    red = redact_cases(con, changes, tmp_path / "redact.parquet", PresidioRedactor(), batch_size=2, max_text_chars=500)
    return changes, red


def test_redact_checkpoint_has_no_context_and_no_context_values(tmp_path, composed):
    """After the PII stage no context column exists and the case's contact name is gone from the text."""
    con, path = composed
    _, red = _through_redact(tmp_path, con, path)
    out = pq.read_table(red.path)
    assert not [c for c in out.column_names if c.startswith("context_") or c.startswith("Contact")]
    assert "John Smith" not in str(out.column("composite_text").to_pylist())
    assert "DIMM failure 3" in str(out.column("composite_text").to_pylist())


def test_embed_falls_back_per_batch_and_load_stores_named_vectors(tmp_path, composed):
    """Primary outage: vectors go to the fallback named vector, the model is recorded, load stores them."""
    con, path = composed
    changes, red = _through_redact(tmp_path, con, path)
    fallback = HashingEmbedder(dimensions=768)
    emb = embed_cases(red.path, tmp_path / "embed.parquet", OutageEmbedder(), fallback, batch_size=2, request_size=2)
    assert (emb.primary, emb.fallback, emb.failed) == (0, 5, [])
    t = pq.read_table(emb.path)
    assert t.column("vector_primary").null_count == 5 and t.column("fallback_model").to_pylist()[0] == fallback.model_name
    store = DuckDBVectorStore(path=str(tmp_path / "v.duckdb"))
    with store:
        store.ensure_schema({"primary": 3072, "fallback": 768})
        res = load_cases(store, changes, red.path, emb.path, tmp_path / "load.parquet", run_id="r1", batch_size=3)
        assert (res.loaded, res.failed, res.deleted) == (5, 0, 1)
        lengths = store.vector_lengths(["500E0"]).to_pylist()[0]
        assert lengths["vector_primary"] is None and lengths["vector_fallback"] == 768


def test_bad_vectors_and_double_outage_become_failures(tmp_path, composed):
    """NaN vectors are a provider failure; with the fallback down too the cases fail, nothing is stored."""
    con, path = composed
    changes, red = _through_redact(tmp_path, con, path)
    emb = embed_cases(red.path, tmp_path / "embed.parquet", NaNEmbedder(), OutageEmbedder(dims=768),
                      batch_size=5, request_size=5)
    assert emb.primary == emb.fallback == 0 and len(emb.failed) == 5
    store = DuckDBVectorStore(path=str(tmp_path / "v.duckdb"))
    with store:
        store.ensure_schema({"primary": 3072, "fallback": 768})
        res = load_cases(store, changes, red.path, emb.path, tmp_path / "load.parquet", run_id="r1", batch_size=3)
        assert res.loaded == 0 and store.count() == 0


def test_terminal_embedder_error_stops_instead_of_falling_back(tmp_path, composed):
    """A terminal refusal (bad credentials) propagates: falling back would hide it."""
    con, path = composed
    _, red = _through_redact(tmp_path, con, path)
    with pytest.raises(EmbedderRejected):
        embed_cases(red.path, tmp_path / "embed.parquet", OutageEmbedder(terminal=True), HashingEmbedder(dimensions=768),
                    batch_size=5, request_size=5)


def test_batch_object_ids_are_uuid5_of_the_case_id():
    """The fast batch computation gives exactly uuid.uuid5 under the namespace, for any text."""
    import uuid

    from schemas.ids import OBJECT_ID_NAMESPACE, object_uuid, object_uuids

    ids = ["500000000000000001", "", "é-ü-日本", "x" * 300]
    assert object_uuids(ids) == [str(uuid.uuid5(OBJECT_ID_NAMESPACE, c)) for c in ids] == [object_uuid(c) for c in ids]
