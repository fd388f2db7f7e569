"""``PresidioRedactor``: presidio recognizers plus context-aware removal.

Per case, all free-text values (case fields and every element of the
child-table lists) are joined and searched once:

1. the case's own context values (``schemas.context``) in all their variants
   (``pii_context_matcher``): a hard guarantee, never overridden;
2. the table rules (``pii_table_rules``): what each staging table is known to
   carry (signatures and quoted headers in e-mails, site addresses in work
   orders, "CE: John" in feed posts, "Spoke with X" in comments);
3. presidio pattern recognizers on a blank spaCy pipeline (``pii_recognizers``)
   for third-party e-mail addresses, phone numbers, cards, IBANs, SSNs, IPs,
   and PERSON etc. when an installed spaCy NER model is configured;
4. the keep-list (``pii_keep_list``) drops detections of step 3 that overlap
   support identifiers (serials, part numbers, error codes, versions...);

then the merged findings (``pii_spans``) are replaced by placeholders or keyed
pseudonyms (``pii_operators``). presidio is imported on first use only.

Batches larger than ``pool_min_cases`` are cut into slices that a process
pool of ``workers`` handles (``pii_pool``); results keep the input order.
``find_pii`` and ``find_spans`` run the same detection without rewriting,
for the leak scanner and the evaluation.
"""

from __future__ import annotations

import os
import re

os.environ.setdefault("TLDEXTRACT_PUBLIC_SUFFIX_LIST_URLS", "")  # before presidio: no download

import logging  # noqa: E402
import threading  # noqa: E402
from collections.abc import Callable, Sequence  # noqa: E402
from concurrent.futures.process import BrokenProcessPool  # noqa: E402
from typing import Any, Literal  # noqa: E402

import phonenumbers  # noqa: E402
import pyarrow as pa  # noqa: E402
from pydantic import Field, PrivateAttr, SecretStr, field_validator, model_validator  # noqa: E402

from blocks.errors import PiiRedactionError  # noqa: E402
from blocks.pii_case_search import CaseSearch, MatcherCache  # noqa: E402
from blocks.pii_case_text import BatchColumns, CaseText, check_batch  # noqa: E402
from blocks.pii_context_matcher import ContextMatcher  # noqa: E402
from blocks.pii_keep_list import DEFAULT_KEEP_PATTERNS, KeepList, compile_keep_patterns  # noqa: E402
from blocks.pii_operators import Replacer  # noqa: E402
from blocks.pii_pool import RedactorPool  # noqa: E402
from blocks.pii_redactor import PII_COUNTS_SCHEMA, PII_SPANS_SCHEMA, PiiRedactor  # noqa: E402
from blocks.pii_spans import Finding, cut, rewrite  # noqa: E402
from blocks.pii_table_rules import DEFAULT_TABLE_RULES, TableRule, TableRules  # noqa: E402
from schemas.context import CONTEXT_COLUMNS  # noqa: E402

__all__ = [
    "DEFAULT_ENTITIES",
    "DEFAULT_PHONE_REGIONS",
    "KNOWN_ENTITIES",
    "PiiRedactionError",
    "PresidioRedactor",
]

#: Replacement tokens the operators write (``<PERSON>``, ``<PERSON_3f2a>``) with separators between them.
_ONLY_PLACEHOLDERS = re.compile(r"[\s,.;:()\-]*(?:<[A-Z_]+(?:_[0-9a-f]{4})?>[\s,.;:()\-]*)+")

logger = logging.getLogger(__name__)

#: Detected without context. PERSON needs ``spacy_model``; it is skipped otherwise.
DEFAULT_ENTITIES: tuple[str, ...] = (
    "EMAIL_ADDRESS", "PHONE_NUMBER", "CREDIT_CARD", "IBAN_CODE", "US_SSN", "IP_ADDRESS", "PERSON",
)

#: presidio's default phone regions without CA (it shares the US numbering plan).
DEFAULT_PHONE_REGIONS: tuple[str, ...] = ("US", "GB", "DE", "FR", "IL", "IN", "BR")

#: Entities with a recognizer (``pii_recognizers.PATTERN_ENTITIES + NER_ENTITIES``,
#: repeated here so that configuring the block does not import presidio).
KNOWN_ENTITIES: tuple[str, ...] = (
    "EMAIL_ADDRESS", "PHONE_NUMBER", "CREDIT_CARD", "IBAN_CODE", "US_SSN", "IP_ADDRESS", "URL",
    "PERSON", "LOCATION", "ORGANIZATION", "NRP",
)

_CONTEXT = frozenset(CONTEXT_COLUMNS)


class PresidioRedactor(PiiRedactor):
    """Removes PII with presidio recognizers, table rules and the case's own context values.

    Works offline: presidio runs on a blank spaCy pipeline unless an installed
    spaCy NER package is named in ``spacy_model``. Use as a context manager
    (or call ``close()``) to stop the worker processes of large batches.

    Example:
        ```python
        from blocks.presidio_redactor import PresidioRedactor

        with PresidioRedactor.load("default") as redactor:
            clean = redactor.redact(batch)
            leaks = redactor.find_pii(stored_batch)
        ```
    """

    _block_type_name = "Presidio Redactor"
    _description = "PII removal with presidio recognizers plus context-aware removal of the case's own people."

    entities: list[str] = Field(
        default_factory=lambda: list(DEFAULT_ENTITIES),
        description=(
            "presidio entities detected without context: EMAIL_ADDRESS, PHONE_NUMBER, CREDIT_CARD, "
            "IBAN_CODE, US_SSN, IP_ADDRESS, URL; PERSON, LOCATION, ORGANIZATION, NRP only with spacy_model."
        ),
    )
    score_threshold: float = Field(
        default=0.4,
        ge=0.0,
        le=1.0,
        description="Minimum presidio score of a detection (0.4 keeps phone numbers without context words).",
    )
    operator: Literal["placeholder", "pseudonym"] = Field(
        default="placeholder",
        description="'placeholder' writes <PERSON>; 'pseudonym' writes <PERSON_3f2a>, a keyed hash per case and value.",
    )
    pseudonym_key: SecretStr | None = Field(
        default=None,
        description="Secret HMAC key for the 'pseudonym' operator (required by it).",
    )
    keep_patterns: list[str] = Field(
        default_factory=lambda: list(DEFAULT_KEEP_PATTERNS),
        description=(
            "Regexes of protected tokens (serials, part numbers, error codes, versions, case and work-order "
            "numbers); detections overlapping them are dropped. A named group 'keep' protects only itself."
        ),
    )
    table_rules: list[TableRule] = Field(
        default_factory=lambda: list(DEFAULT_TABLE_RULES),
        description=(
            "Per-table rules (name, tables, pattern with groups named after entities) for what a table is "
            "known to carry: e-mail signatures and quoted headers, site addresses, 'CE: John', 'Spoke with X'."
        ),
    )
    spacy_model: str | None = Field(
        default=None,
        description="Installed spaCy NER package (e.g. 'en_core_web_sm') to detect PERSON etc.; empty = blank pipeline.",
    )
    phone_regions: list[str] = Field(
        default_factory=lambda: list(DEFAULT_PHONE_REGIONS),
        description="Regions whose national phone formats are recognized (ISO 3166 codes).",
    )
    workers: int | None = Field(
        default=None,
        ge=1,
        description="Worker processes for batches above pool_min_cases; empty = one per CPU; 1 = never a pool.",
    )
    pool_min_cases: int = Field(
        default=2_000,
        ge=1,
        description="Batches with more cases than this are split across the worker processes.",
    )
    pool_start_method: Literal["forkserver", "spawn", "fork"] = Field(
        default="forkserver",
        description=(
            "How worker processes start: 'forkserver' (safe with threads, imports presidio once per process), "
            "'spawn' (a fresh interpreter per worker) or 'fork' (fastest; unsafe if the process runs threads)."
        ),
    )

    _tools: Any = PrivateAttr(default=None)
    _tools_config: Any = PrivateAttr(default=None)
    _matchers: Any = PrivateAttr(default_factory=MatcherCache)
    _lock: Any = PrivateAttr(default_factory=threading.Lock)
    _pool: Any = PrivateAttr(default=None)
    _pool_disabled: bool = PrivateAttr(default=False)

    @field_validator("entities")
    @classmethod
    def _entities_known(cls, entities: list[str]) -> list[str]:
        unknown = [e for e in entities if e not in KNOWN_ENTITIES]
        if unknown:
            raise ValueError(f"entities: unknown {unknown}; expected some of {list(KNOWN_ENTITIES)}")
        return entities

    @field_validator("keep_patterns")
    @classmethod
    def _patterns_compile(cls, patterns: list[str]) -> list[str]:
        compile_keep_patterns(patterns)
        return patterns

    @field_validator("phone_regions")
    @classmethod
    def _regions_known(cls, regions: list[str]) -> list[str]:
        unknown = [r for r in regions if r not in phonenumbers.SUPPORTED_REGIONS]
        if unknown:
            raise ValueError(f"phone_regions: unknown region codes {unknown}; expected ISO 3166 codes like 'US'")
        return regions

    @model_validator(mode="after")
    def _pseudonym_has_key(self) -> PresidioRedactor:
        if self.operator == "pseudonym" and (
            self.pseudonym_key is None or not self.pseudonym_key.get_secret_value()
        ):
            raise ValueError("operator 'pseudonym' needs pseudonym_key (expected a non-empty secret, got none)")
        return self

    # --- public API -----------------------------------------------------------------

    def redact(self, batch: pa.RecordBatch) -> pa.RecordBatch:
        """Redact one batch; never raises with PII in the message."""
        check_batch(batch.schema)
        parts = self._pooled("redact", batch)
        if parts is not None:
            return pa.concat_batches(parts)
        prepared = BatchColumns.of(batch)
        tools = self._get_tools()
        replacer = Replacer(self.operator, self._key_bytes())
        texts = prepared.texts

        def one(row: int, case: CaseText, findings: list[Finding], case_key: str) -> int:
            pieces, count = rewrite(case.text, case.bounds, findings, lambda f: replacer.token(f.entity, f.key, case_key))
            case.write_back(texts, row, pieces)
            return count

        removed = self._each_case(prepared, tools, one)
        columns, fields = [], []
        for field in batch.schema:
            if field.name in _CONTEXT:
                continue
            fields.append(field)
            if field.name in texts:
                columns.append(pa.array(texts[field.name], type=field.type))
            else:
                columns.append(batch.column(field.name))
        fields.append(pa.field("pii_entities_removed", pa.int32(), nullable=False))
        columns.append(pa.array(removed, type=pa.int32()))
        logger.debug("Redacted %d cases, %d PII entities removed", len(removed), sum(removed))
        return pa.RecordBatch.from_arrays(columns, schema=pa.schema(fields, metadata=batch.schema.metadata))

    def find_spans(self, batch: pa.RecordBatch) -> pa.Table:
        """What ``redact`` would replace, as offsets: never the values.

        One row per replaced piece (``PII_SPANS_SCHEMA``): case id, property,
        list index (null for case fields), start and end within that value,
        entity type and source (``context``, ``rule`` or ``detector``).
        """
        check_batch(batch.schema)
        parts = self._pooled("find_spans", batch)
        if parts is not None:
            return pa.concat_tables(parts)
        prepared = BatchColumns.of(batch)
        rows: dict[str, list] = {name: [] for name in PII_SPANS_SCHEMA.names}

        def one(row: int, case: CaseText, findings: list[Finding], case_key: str) -> int:
            # text that is nothing but our own placeholders was redacted already: not a finding
            findings = [f for f in findings if not _ONLY_PLACEHOLDERS.fullmatch(case.text[f.start:f.end])]
            for segment, start, end, finding in cut(case.bounds, findings):
                name, index = case.slots[segment]
                source = "context" if finding.from_context else "rule" if finding.rule else "detector"
                for column, value in zip(
                    PII_SPANS_SCHEMA.names,
                    (prepared.case_ids[row], name, index, start, end, finding.entity, source, finding.rule or None),
                ):
                    rows[column].append(value)
            return len(findings)

        self._each_case(prepared, self._get_tools(), one)
        return pa.table(rows, schema=PII_SPANS_SCHEMA)

    def find_pii(self, batch: pa.RecordBatch) -> pa.Table:
        """Per case, how many values of each entity type ``redact`` would remove, by source.

        ``PII_COUNTS_SCHEMA``: ``case_id``, ``entity_type``, ``source``
        (``context`` for the case's own context values), ``count``; cases
        without findings have no row. Counts only: no value, no offset.
        """
        spans = self.find_spans(batch)
        if not spans.num_rows:
            return PII_COUNTS_SCHEMA.empty_table()
        counts = spans.group_by(["case_id", "entity_type", "source"]).aggregate([("start", "count")])
        counts = counts.rename_columns({"start_count": "count"}).select(PII_COUNTS_SCHEMA.names)
        return counts.cast(PII_COUNTS_SCHEMA).sort_by([(c, "ascending") for c in ("case_id", "entity_type", "source")])

    def close(self) -> None:
        """Stop the worker processes, if any; they start again when needed."""
        with self._lock:
            pool, self._pool = self._pool, None
        if pool is not None:
            pool.close()

    def __enter__(self) -> PresidioRedactor:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # --- internals ------------------------------------------------------------------

    def _each_case(
        self, prepared: BatchColumns, tools: CaseSearch, handle: Callable[[int, CaseText, list[Finding], str], int]
    ) -> list[int]:
        """Find each case's PII and pass it to ``handle``; collect its counts.

        Any failure becomes a ``PiiRedactionError`` naming the case and the
        columns, without the cause (which may quote the text).
        """
        counts: list[int] = []
        columns = list(prepared.texts)
        for row, case_id in enumerate(prepared.case_ids):
            try:
                case = CaseText.gather(prepared.texts, row)
                if case is None:
                    counts.append(0)
                    continue
                context = {name: values[row] for name, values in prepared.contexts.items()}
                findings = tools.findings(case, self._matcher(context))
                case_key = "" if case_id is None else str(case_id)
                counts.append(handle(row, case, findings, case_key) if findings else 0)
            except Exception as exc:  # never chain: the cause may quote the text
                raise PiiRedactionError(
                    f"PII redaction failed for case_id={case_id!r} in columns {columns} ({type(exc).__name__})"
                ) from None
        return counts

    def _pooled(self, method: str, batch: pa.RecordBatch) -> list | None:
        """``method`` over slices of ``batch`` in the worker processes, or None to run here."""
        workers = self.workers or os.cpu_count() or 1
        if workers < 2 or batch.num_rows <= self.pool_min_cases or self._pool_disabled:
            return None
        config = self.model_dump()
        with self._lock:
            stale, pool = None, self._pool
            if pool is None or pool.workers != workers or pool.config != dict(config, workers=1):  # settings changed
                class_path = f"{type(self).__module__}:{type(self).__qualname__}"
                stale, pool = pool, RedactorPool(class_path, config, workers, self.pool_start_method)
                self._pool = pool
        if stale is not None:
            stale.close()
        try:
            return pool.map(method, batch)
        except BrokenProcessPool:
            logger.warning(
                "PII worker processes could not run (%d workers, start method %r); redacting in this process",
                workers, self.pool_start_method,
            )
            with self._lock:
                self._pool_disabled = True
                self._pool = None
            return None

    def _matcher(self, context: dict[str, Sequence[str | None] | None]) -> ContextMatcher:
        """The case's context matcher (cached: cases often share their people)."""
        return self._matchers.get(context)

    def _get_tools(self) -> CaseSearch:
        """Build presidio, keep-list and rules once per instance (again only if settings change)."""
        config = (
            tuple(self.entities), self.score_threshold, self.spacy_model, tuple(self.phone_regions),
            tuple(self.keep_patterns), tuple(self.table_rules),
        )
        with self._lock:
            if self._tools is None or self._tools_config != config:
                from blocks.pii_recognizers import build_analyzer

                try:
                    analyzer = build_analyzer(
                        self.entities,
                        score_threshold=self.score_threshold,
                        phone_regions=self.phone_regions,
                        spacy_model=self.spacy_model,
                    )
                except (ValueError, OSError) as exc:  # configuration only: no text involved
                    raise PiiRedactionError(f"cannot build the presidio analyzer: {exc}") from exc
                self._tools = CaseSearch(analyzer, KeepList(self.keep_patterns), TableRules(self.table_rules))
                self._tools_config = config
            return self._tools

    def _key_bytes(self) -> bytes | None:
        if self.pseudonym_key is None:
            return None
        return self.pseudonym_key.get_secret_value().encode()
