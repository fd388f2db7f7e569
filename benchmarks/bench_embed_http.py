"""Embed-stage throughput against the stand-in embedding API with 100 ms latency.

Why: the original design embedded strictly sequential batches of 100 texts,
one request at a time, so a 100 ms API answered at most 1,000 texts/s no
matter how fast the rest of the pipeline was. ``stages.embed`` now keeps
several requests in flight (bounded by the embedder's ``max_concurrency``)
over one pooled ``httpx.Client``; the target is at least 4x the sequential
throughput. This script runs ``embed_cases`` on a redact checkpoint of
``--texts`` composite-sized texts (~1,500 characters), 3072 dimensions,
stage batches of ``--batch-size`` rows, requests of 100 texts:

- sequential: ``max_concurrency=1``, one chunk at a time (the original design);
- concurrency 4 and 8 (base64 answers, the default);
- concurrency 8 with float-list answers (what a gateway without base64 costs);
- Ollama (768 dimensions, float lists only) at its default concurrency 2 and at 8;
- the OpenAI embedder alone (one ``embed()`` of all texts), without the
  stage's checkpoint reading, validation and Parquet writing.

The stand-in runs in its own process (``python -m tests.embedding_standin``)
so its CPU does not compete with the client's; it remembers the vectors of
texts it has seen, so after an untimed warm-up pass its only cost is the
simulated latency. Each figure is the best of ``--repeat`` runs.

Usage::

    python benchmarks/bench_embed_http.py [--texts 4000] [--batch-size 1000] [--latency 0.1] [--repeat 3] [--out benchmarks/out]

The table is printed and written to ``<out>/embed-http-<date>.md``.
"""

from __future__ import annotations

import argparse
import logging
import shutil
import subprocess
import sys
import time
from datetime import date
from pathlib import Path

from harness import ROOT, machine_note, markdown_table

import pyarrow as pa  # noqa: E402 - after harness puts the project on sys.path
import pyarrow.parquet  # noqa: E402,F401 - pa.parquet

from blocks.ollama_embedder import OllamaEmbedder  # noqa: E402
from blocks.openai_embedder import OpenAIEmbedder  # noqa: E402
from stages.embed import embed_cases  # noqa: E402
from tests.redact_checkpoints import write_redact  # noqa: E402

REQUEST = 100
WORDS = ("server memory DIMM replaced firmware iLO update engineer visited site fan failure power supply "
         "redundant degraded health status customer reported error code SmartArray controller battery").split()


def bench_texts(n: int) -> list[str]:
    """``n`` distinct texts of about 1,500 characters."""
    bodies = []
    for i in range(n):
        words = [WORDS[(i * 7 + j * 13) % len(WORDS)] for j in range(200)]
        bodies.append(f"Case {i}: " + " ".join(words)[:1500])
    return bodies


def start_standin(latency: float) -> tuple[subprocess.Popen, str]:
    proc = subprocess.Popen([sys.executable, "-m", "tests.embedding_standin", "--latency", str(latency)],
                            cwd=ROOT, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    url = proc.stdout.readline().strip()
    if not url.startswith("http"):
        proc.kill()
        raise SystemExit(f"stand-in did not start (first line {url!r})")
    return proc, url


def run(redact: Path, scratch: Path, embedder, concurrency: int, repeat: int, batch_size: int = 1_000) -> float:
    """Best wall time of ``repeat`` embed_cases runs, in seconds."""
    best = float("inf")
    with embedder:
        for _ in range(repeat):
            started = time.perf_counter()
            result = embed_cases(redact, scratch / "embed.parquet", embedder, None, batch_size=batch_size,
                                 request_size=REQUEST, concurrency=concurrency)
            best = min(best, time.perf_counter() - started)
            if result.primary != result.rows:
                raise SystemExit(f"{embedder.model_name}: only {result.primary} of {result.rows} rows embedded")
    return best


def run_embedder(texts: list[str], embedder, repeat: int) -> float:
    """Best wall time of ``repeat`` calls of ``embed(texts)`` alone (no checkpoint reading or writing)."""
    best = float("inf")
    with embedder:
        for _ in range(repeat):
            started = time.perf_counter()
            embedder.embed(texts)
            best = min(best, time.perf_counter() - started)
    return best


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--texts", type=int, default=4_000)
    parser.add_argument("--batch-size", type=int, default=1_000, help="stage batch (rows read and written at once)")
    parser.add_argument("--latency", type=float, default=0.1)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--out", type=Path, default=Path(__file__).resolve().parent / "out")
    args = parser.parse_args()
    logging.basicConfig(level=logging.ERROR)

    scratch = args.out / "scratch" / "embed-http"
    shutil.rmtree(scratch, ignore_errors=True)
    scratch.mkdir(parents=True)
    redact = write_redact(scratch / "redact.parquet", bench_texts(args.texts), id_format="500B{:08d}")
    proc, url = start_standin(args.latency)
    try:
        def openai(c: int, fmt: str = "base64") -> OpenAIEmbedder:
            return OpenAIEmbedder(base_url=url + "/v1", model="text-embedding-3-large", dimensions=3072,
                                  api_key="bench", max_batch_inputs=REQUEST, max_concurrency=c, encoding_format=fmt)

        def ollama(c: int) -> OllamaEmbedder:
            return OllamaEmbedder(base_url=url, dimensions=768, max_batch_inputs=REQUEST, max_concurrency=c)

        run(redact, scratch, openai(8), 8, 1)  # warm-up: the stand-in learns every text's vector
        run(redact, scratch, ollama(8), 8, 1)
        cases = [
            ("OpenAI, sequential batches of 100 (original design)", openai(1), 1),
            ("OpenAI, concurrency 4", openai(4), 4),
            ("OpenAI, concurrency 8", openai(8), 8),
            ("OpenAI, concurrency 8, float-list answers", openai(8, "float"), 8),
            ("Ollama, concurrency 2 (default)", ollama(2), 2),
            ("Ollama, concurrency 8", ollama(8), 8),
        ]
        rows, baseline = [], None
        for name, embedder, concurrency in cases:
            seconds = run(redact, scratch, embedder, concurrency, args.repeat, args.batch_size)
            rate = args.texts / seconds
            baseline = baseline or rate
            rows.append([name, args.texts, round(seconds, 2), round(rate), f"{rate / baseline:.1f}x"])
            print(f"{name}: {seconds:.2f} s, {rate:,.0f} texts/s", flush=True)
        texts = pa.parquet.read_table(redact, columns=["composite_text"]).column(0).to_pylist()
        alone, base_alone = [], None
        for name, embedder in [("OpenAI embed() alone, max_concurrency 1", openai(1)),
                               ("OpenAI embed() alone, max_concurrency 4", openai(4)),
                               ("OpenAI embed() alone, max_concurrency 8", openai(8))]:
            seconds = run_embedder(texts, embedder, args.repeat)
            rate = args.texts / seconds
            base_alone = base_alone or rate
            alone.append([name, args.texts, round(seconds, 2), round(rate), f"{rate / base_alone:.1f}x"])
            print(f"{name}: {seconds:.2f} s, {rate:,.0f} texts/s", flush=True)
    finally:
        proc.stdin.close()
        proc.wait(timeout=10)

    floor = args.texts / REQUEST * args.latency
    text = "\n".join([
        f"# Embed stage against the stand-in API, {args.latency * 1000:.0f} ms latency",
        "",
        machine_note(),
        "",
        f"{args.texts:,} texts of ~1,500 characters, 3072 dimensions, stage batches of {args.batch_size:,}, "
        f"requests of {REQUEST}, best of {args.repeat}. "
        f"Sequential floor: {floor:.1f} s of latency alone.",
        "",
        "Whole embed stage (read redact.parquet, embed, validate and write embed.parquet):",
        "",
        markdown_table(["embedder", "texts", "seconds", "texts/s", "vs sequential"], rows),
        "",
        "The embedder alone (the same texts in one embed() call, requests of 100):",
        "",
        markdown_table(["embedder", "texts", "seconds", "texts/s", "vs sequential"], alone),
        "",
    ])
    print("\n" + text)
    path = args.out / f"embed-http-{date.today():%Y-%m-%d}.md"
    path.write_text(text)
    print(f"written to {path}")
    shutil.rmtree(scratch, ignore_errors=True)


if __name__ == "__main__":
    main()
