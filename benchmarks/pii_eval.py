"""PII stage evaluation: recall, precision, F2, keep-token survival and speed, ours vs plain presidio.

Why: the PII stage must let nothing of the case's own people through, catch
third-party e-mails, phones, cards, IBANs and SSNs, keep the serials and part
numbers engineers search for, and be fast enough to redact millions of
cases. This script measures all of it in one run, for ``PresidioRedactor``
(context values, table rules, keep-list, windowed recognizers) and for plain
presidio as the baseline (default recognizers, blank spaCy pipeline, no
context, default score threshold), on two corpora:

* the generator's labelled corpus (``--cases`` cases through extract and
  compose, as the pipeline sees them; the answer key labels every planted
  value with its entity type and whether the case's context holds it);
* ``pii_unseen_corpus.py``: hand-written texts the generator never produces,
  used to find gaps in the rules, and ``pii_holdout_corpus.py``, written
  after that as the fairer test.

Scoring works on character spans of each case's joined free text:

* a planted value is *caught* when no significant part of it is left
  uncovered by the system's spans (for names and places: no word of two or
  more letters; for numbers: no run of four digits; for e-mail addresses: no
  word of the local part);
* a detection is *correct* when it overlaps a planted value of any type;
* recall per planted entity type, precision per detected entity type,
  F2 = 5PR / (4P + R) (recall weighs four times precision);
* a must-keep token *survives* when no span touches it;
* context leaks: planted values the case's context holds that are not caught.

Throughput is cases per second on one core (one process), and for ours also
with a process pool of ``--workers`` (total, and per core).

Usage::

    python benchmarks/pii_eval.py [--cases 2000] [--workers 2] [--baseline-cases N] [--out benchmarks/out]

The table is printed and written to ``<out>/pii_eval-<date>.md`` (figures as
JSON beside it).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import time
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from pathlib import Path

os.environ.setdefault("TLDEXTRACT_PUBLIC_SUFFIX_LIST_URLS", "")

from harness import ensure_staging, machine_note, markdown_table  # noqa: E402

#: Entity types reported one by one; others of the baseline go to "other".
ENTITIES = ("EMAIL_ADDRESS", "PHONE_NUMBER", "CREDIT_CARD", "IBAN_CODE", "US_SSN", "IP_ADDRESS",
            "PERSON", "LOCATION", "ORGANIZATION")
#: Entity types with the 99.5 % recall target.
TARGETED = ("EMAIL_ADDRESS", "PHONE_NUMBER", "CREDIT_CARD", "IBAN_CODE", "US_SSN")
_NUMBERS = {"PHONE_NUMBER", "CREDIT_CARD", "IBAN_CODE", "US_SSN", "IP_ADDRESS"}
_IGNORED_WORDS = {"de", "la", "le", "du", "des", "da", "van", "von", "der", "den", "am", "of", "the", "and",
                  "mr", "mrs", "ms", "dr", "ltd", "inc", "llc", "gmbh", "ggmbh", "bv", "co", "corp", "plc", "sa", "ag"}
_WORD = re.compile(r"[^\W_]+")


@dataclass
class Corpus:
    """Cases as the redactor receives them, plus labels in joined-text coordinates."""

    name: str
    batch: object  # pa.RecordBatch
    texts: dict = field(default_factory=dict)  # case id -> CaseText
    planted: list = field(default_factory=list)  # (case, start, end, entity, in_context)
    keep: list = field(default_factory=list)  # (case, start, end)
    absent: int = 0  # labels whose value is not in the composed text (e.g. from a filtered task)


# --- corpora ------------------------------------------------------------------------------


def generated_corpus(out: Path, cases: int, seed: int) -> Corpus:
    """The generator's cases through extract and compose, and their answer keys."""
    import duckdb
    import pyarrow.compute as pc
    import pyarrow.dataset as ds
    import pyarrow.parquet as pq

    from blocks.staging_files import ParquetStagingSource
    from schemas.settings import DateWindow, PipelineSettings
    from stages.compose import compose_cases
    from stages.extract import extract_window

    folder, gen_s = ensure_staging(out, cases, seed)
    print(f"staging {folder}: " + (f"generated in {gen_s:.1f} s" if gen_s else "cached"), flush=True)
    composed = out / f"compose-{cases}.parquet"
    if not composed.exists():
        settings = PipelineSettings()
        con = duckdb.connect()
        present = ParquetStagingSource(path=str(folder)).register(con)
        window = DateWindow(start=datetime(2000, 1, 1), end=datetime.now() + timedelta(days=3650))
        extract_window(con, present, window, out / f"extract-{cases}")
        compose_cases(con, out / f"extract-{cases}", composed, task_types=tuple(settings.task_types),
                      max_text_chars=settings.max_text_chars)
        con.close()
    key = ds.dataset(folder / "answer_key").to_table().to_pylist()
    keep = ds.dataset(folder / "keep_tokens").to_table().to_pylist()
    labels = [(r["case_id"], r["entity_type"], r["value"], r["in_context"]) for r in key if r["record_live"]]
    tokens = [(r["case_id"], r["token"]) for r in keep if r["record_live"]]
    table = pq.read_table(composed)
    table = table.filter(pc.equal(table.column("action"), "upsert"))  # deleted cases are never redacted
    return _corpus(f"generator ({cases} cases, seed {seed})", _redactor_input(table), labels, tokens)


def unseen_corpus(holdout: bool = False) -> Corpus:
    """``pii_unseen_corpus.UNSEEN_CASES`` (or ``pii_holdout_corpus.HOLDOUT_CASES``) as a batch, with labels."""
    import pyarrow as pa

    from pii_holdout_corpus import HOLDOUT_CASES
    from pii_unseen_corpus import UNSEEN_CASES
    from schemas.context import CONTEXT_COLUMNS
    from schemas.fields import FIELD_BY_PROPERTY, FREE_TEXT_PROPERTIES

    cases = HOLDOUT_CASES if holdout else UNSEEN_CASES
    columns: dict[str, list] = {"case_id": [c["id"] for c in cases]}
    for prop in FREE_TEXT_PROPERTIES:
        columns[prop] = [c["fields"].get(prop) for c in cases]
    for name in CONTEXT_COLUMNS:
        columns[name] = [c["context"].get(name, []) for c in cases]
    types = {p: pa.list_(pa.string()) if FIELD_BY_PROPERTY[p].is_list else pa.string() for p in FREE_TEXT_PROPERTIES}
    types.update({n: pa.list_(pa.string()) for n in CONTEXT_COLUMNS})
    batch = pa.RecordBatch.from_pydict({k: pa.array(v, type=types.get(k, pa.string())) for k, v in columns.items()})
    labels = [(c["id"], e, v, ctx) for c in cases for e, v, ctx in c["pii"]]
    tokens = [(c["id"], t) for c in cases for t in c["keep"]]
    name = "unseen hold-out" if holdout else "unseen, used for tuning"
    corpus = _corpus(f"{name} ({len(cases)} hand-written cases)", batch, labels, tokens)
    if corpus.absent:
        raise ValueError(f"pii_unseen_corpus: {corpus.absent} labelled values do not occur in their case's text")
    return corpus


def _redactor_input(table):
    from schemas.context import CONTEXT_COLUMNS
    from schemas.fields import FREE_TEXT_PROPERTIES

    return table.select(["case_id", *FREE_TEXT_PROPERTIES, *CONTEXT_COLUMNS]).combine_chunks().to_batches()[0]


def _corpus(name: str, batch, labels, tokens) -> Corpus:
    from blocks.pii_case_text import CaseText
    from schemas.fields import FREE_TEXT_PROPERTIES

    texts = {p: batch.column(p).to_pylist() for p in FREE_TEXT_PROPERTIES if p in batch.schema.names}
    corpus = Corpus(name, batch)
    for row, case_id in enumerate(batch.column("case_id").to_pylist()):
        case = CaseText.gather(texts, row)
        if case is not None:
            corpus.texts[case_id] = case
    seen = set()
    for case_id, entity, value, in_context in labels:
        case = corpus.texts.get(case_id)
        spots = _occurrences(case.text, value, words=True) if case else []
        if not spots:
            corpus.absent += 1
        for start, end in spots:
            if (case_id, start, end, entity) not in seen:
                seen.add((case_id, start, end, entity))
                corpus.planted.append((case_id, start, end, entity, in_context))
    for case_id, token in tokens:
        case = corpus.texts.get(case_id)
        for start, end in _occurrences(case.text, token, words=False) if case else []:
            corpus.keep.append((case_id, start, end))
    corpus.keep = sorted(set(corpus.keep))
    return corpus


def _occurrences(text: str, value: str, *, words: bool) -> list[tuple[int, int]]:
    if words:  # a label occurs as a whole word sequence, in any casing
        pattern = re.compile(rf"(?<![^\W_]){re.escape(value)}(?![^\W_])", re.IGNORECASE)
    else:  # a must-keep token exactly as written
        pattern = re.compile(re.escape(value))
    return [m.span() for m in pattern.finditer(text)]


# --- systems ------------------------------------------------------------------------------


def our_spans(redactor, corpus: Corpus) -> dict:
    """Per case, (start, end, entity) spans of ``find_spans`` in joined-text coordinates."""
    spans = redactor.find_spans(corpus.batch).to_pylist()
    out: dict = defaultdict(list)
    positions = {cid: {slot: i for i, slot in enumerate(c.slots)} for cid, c in corpus.texts.items()}
    for s in spans:
        case = corpus.texts[s["case_id"]]
        segment = positions[s["case_id"]][(s["property"], s["list_index"])]
        base = case.bounds[segment][0]
        out[s["case_id"]].append((base + s["start"], base + s["end"], s["entity_type"]))
    return out


def plain_presidio():
    """presidio as shipped: every predefined recognizer, blank spaCy pipeline with lemmas, no context."""
    from presidio_analyzer import AnalyzerEngine, RecognizerRegistry

    from blocks.pii_recognizers import BlankSpacyNlpEngine

    nlp = BlankSpacyNlpEngine()
    nlp.load()
    registry = RecognizerRegistry(supported_languages=["en"])
    registry.load_predefined_recognizers(languages=["en"], nlp_engine=nlp)
    return AnalyzerEngine(registry=registry, nlp_engine=nlp, supported_languages=["en"])


def baseline_spans(engine, corpus: Corpus, limit: int | None = None) -> tuple[dict, float, int]:
    """Per case spans of plain presidio on the joined text; seconds and cases analysed."""
    out: dict = {}
    items = list(corpus.texts.items())[:limit]
    started = time.perf_counter()
    for case_id, case in items:
        out[case_id] = [(r.start, r.end, r.entity_type) for r in engine.analyze(case.text, language="en")]
    return out, time.perf_counter() - started, len(items)


# --- scoring ------------------------------------------------------------------------------


def _uncovered(text: str, start: int, end: int, spans: list) -> str:
    chars = list(text[start:end])
    for lo, hi, _ in spans:
        for i in range(max(lo, start), min(hi, end)):
            chars[i - start] = " "
    return "".join(chars)


def _survives(entity: str, original: str, residue: str) -> bool:
    """Whether a significant part of a planted value is left uncovered (``residue``: covered chars blanked)."""
    if entity in _NUMBERS:
        return sum(ch.isdigit() for ch in residue) >= 4
    if entity == "EMAIL_ADDRESS":
        local = residue[: original.index("@")] if "@" in original else residue
        return any(len(w) >= 2 for w in _WORD.findall(local))
    return any(len(w) >= 2 and w.casefold() not in _IGNORED_WORDS for w in _WORD.findall(residue))


def score(corpus: Corpus, spans: dict, cases: set | None = None) -> dict:
    """Recall, precision, F2 per entity type; context leaks; keep survival."""
    planted = [p for p in corpus.planted if cases is None or p[0] in cases]
    keep = [k for k in corpus.keep if cases is None or k[0] in cases]
    total, caught, context_total, context_leaks = Counter(), Counter(), 0, 0
    leaks_by_type = Counter()
    for case_id, start, end, entity, in_context in planted:
        text = corpus.texts[case_id].text
        residue = _uncovered(text, start, end, spans.get(case_id, []))
        hit = not _survives(entity, text[start:end], residue)
        total[entity] += 1
        caught[entity] += hit
        if in_context:
            context_total += 1
            if not hit:
                context_leaks += 1
                leaks_by_type[entity] += 1
    detections, correct = Counter(), Counter()
    by_case = defaultdict(list)
    for case_id, start, end, *_ in planted:
        by_case[case_id].append((start, end))
    for case_id, found in spans.items():
        if cases is not None and case_id not in cases:
            continue
        for start, end, entity in found:
            label = entity if entity in ENTITIES else "other"
            detections[label] += 1
            correct[label] += any(s < end and start < e for s, e in by_case.get(case_id, []))
    harmed = sum(1 for case_id, start, end in keep
                 if any(s < end and start < e for s, e, _ in spans.get(case_id, [])))
    rows = {}
    for entity in (*ENTITIES, "other"):
        recall = caught[entity] / total[entity] if total[entity] else None
        precision = correct[entity] / detections[entity] if detections[entity] else None
        f2 = (5 * precision * recall / (4 * precision + recall)) if recall and precision else (
            0.0 if recall is not None and precision is not None else None)
        rows[entity] = {"planted": total[entity], "caught": caught[entity], "recall": recall,
                        "detections": detections[entity], "correct": correct[entity], "precision": precision, "f2": f2}
    return {"entities": rows, "context_values": context_total, "context_leaks": context_leaks,
            "context_leaks_by_type": dict(leaks_by_type), "keep_tokens": len(keep), "keep_harmed": harmed,
            "keep_survival": (len(keep) - harmed) / len(keep) if keep else None, "absent_labels": corpus.absent}


# --- timing -------------------------------------------------------------------------------


def time_ours(corpus: Corpus, workers: int) -> dict:
    """Cases/s of ``redact`` on the corpus: one process, then a pool of ``workers``."""
    from blocks.presidio_redactor import PresidioRedactor

    batch = corpus.batch
    single = PresidioRedactor(workers=1)
    single.redact(batch.slice(0, 2))  # builds presidio; not timed
    started = time.perf_counter()
    single.redact(batch)
    one = time.perf_counter() - started
    result = {"cases": batch.num_rows, "single_s": one, "single_cases_per_s": batch.num_rows / one}
    if workers > 1:
        with PresidioRedactor(workers=workers, pool_min_cases=1) as pooled:
            pooled.redact(batch.slice(0, workers * 2))  # starts the workers and their presidio; not timed
            started = time.perf_counter()
            pooled.redact(batch)
            seconds = time.perf_counter() - started
        result.update(pool_workers=workers, pool_s=seconds, pool_cases_per_s=batch.num_rows / seconds,
                      pool_cases_per_s_per_core=batch.num_rows / seconds / workers)
    return result


# --- report -------------------------------------------------------------------------------


def _pct(value) -> str:
    return "" if value is None else f"{100 * value:.2f}%"


def report_table(ours: dict, base: dict) -> str:
    header = ["entity", "planted", "ours recall", "ours precision", "ours F2",
              "presidio recall", "presidio precision", "presidio F2"]
    rows = []
    for entity in (*ENTITIES, "other"):
        o, b = ours["entities"][entity], base["entities"][entity]
        if not (o["planted"] or o["detections"] or b["detections"]):
            continue
        rows.append([entity + (" *" if entity in TARGETED else ""), o["planted"], _pct(o["recall"]),
                     _pct(o["precision"]) + f" ({o['detections']})", _pct(o["f2"]), _pct(b["recall"]),
                     _pct(b["precision"]) + f" ({b['detections']})", _pct(b["f2"])])
    rows.append(["context values leaked", ours["context_values"], str(ours["context_leaks"]), "", "",
                 str(base["context_leaks"]), "", ""])
    rows.append(["must-keep tokens surviving", ours["keep_tokens"], _pct(ours["keep_survival"]), "", "",
                 _pct(base["keep_survival"]), "", ""])
    return markdown_table(header, rows)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--cases", type=int, default=2000, help="generated cases (default 2000)")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 1, help="pool size for the pooled timing")
    parser.add_argument("--baseline-cases", type=int, default=None,
                        help="score and time plain presidio on the first N cases only (default: all)")
    parser.add_argument("--out", type=Path, default=Path(__file__).resolve().parent / "out")
    args = parser.parse_args()
    out = args.out.resolve() / "pii_eval"
    out.mkdir(parents=True, exist_ok=True)
    started_note = machine_note()
    print(f"machine: {started_note}", flush=True)

    from blocks.presidio_redactor import PresidioRedactor

    corpora = [generated_corpus(out, args.cases, args.seed), unseen_corpus(), unseen_corpus(holdout=True)]
    engine = plain_presidio()
    engine.analyze("warm up 415-555-0134", language="en")
    results, text = {}, []
    for corpus in corpora:
        with PresidioRedactor(workers=1) as redactor:
            ours_spans = our_spans(redactor, corpus)
        limit = args.baseline_cases if corpus is corpora[0] else None
        base_spans, base_s, base_n = baseline_spans(engine, corpus, limit)
        scope = set(base_spans) if limit else None
        ours = score(corpus, ours_spans, scope)
        base = score(corpus, base_spans, scope)
        table = report_table(ours, base)
        entry = {"ours": ours, "presidio": base, "presidio_cases": base_n, "presidio_s": base_s,
                 "presidio_cases_per_s": base_n / base_s if base_s else None}
        if corpus is corpora[0]:
            entry["ours_timing"] = time_ours(corpus, args.workers)
        results[corpus.name] = entry
        scope_note = f" (scored on the {base_n} cases presidio analysed)" if limit else ""
        text.append(f"## {corpus.name}{scope_note}\n\n{table}\n")
        print(f"\n{corpus.name}{scope_note}\n{table}", flush=True)
    gen = results[corpora[0].name]
    timing = gen["ours_timing"]
    speed_rows = [["ours, 1 process", timing["cases"], round(timing["single_s"], 2), timing["single_cases_per_s"],
                   timing["single_cases_per_s"], timing["single_cases_per_s"] / gen["presidio_cases_per_s"]]]
    if "pool_workers" in timing:
        speed_rows.append([f"ours, pool of {timing['pool_workers']}", timing["cases"], round(timing["pool_s"], 2),
                           timing["pool_cases_per_s"], timing["pool_cases_per_s_per_core"],
                           timing["pool_cases_per_s"] / gen["presidio_cases_per_s"]])
    speed_rows.append(["plain presidio, 1 process", gen["presidio_cases"], round(gen["presidio_s"], 2),
                       gen["presidio_cases_per_s"], gen["presidio_cases_per_s"], 1.0])
    speed = markdown_table(["system", "cases", "seconds", "cases/s", "cases/s per core", "x presidio"], speed_rows)
    print("\nthroughput (generator corpus, average "
          f"{sum(len(c.text) for c in corpora[0].texts.values()) / max(1, len(corpora[0].texts)):.0f} "
          f"characters per case)\n" + speed)
    finished_note = machine_note()
    doc = (f"# PII evaluation\n\nStarted: {started_note}\n\nFinished: {finished_note}\n\n"
           f"Command: `python benchmarks/pii_eval.py --cases {args.cases} --workers {args.workers}"
           f"{'' if args.baseline_cases is None else f' --baseline-cases {args.baseline_cases}'}`\n\n"
           "Recall per planted entity type, precision per detected type (detections in brackets), "
           "F2 = 5PR/(4P+R); * = 99.5% recall target. See the script's docstring for the scoring rules.\n\n"
           + "\n".join(text) + "\n## Throughput (generator corpus)\n\n" + speed + "\n")
    path = out.parent / f"pii_eval-{date.today():%Y-%m-%d}.md"
    path.write_text(doc)
    path.with_suffix(".json").write_text(json.dumps(results, indent=2, default=str))
    print(f"\nwritten to {path}")


if __name__ == "__main__":
    main()
