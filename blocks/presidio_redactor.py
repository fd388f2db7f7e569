"""``PresidioRedactor``: presidio recognizers plus context-aware removal.

Per case, all free-text values (case fields and every element of the
child-table lists) are joined and searched once:

1. the case's own context values (``schemas.context``) in all their variants
   (``pii_context_matcher``): a hard guarantee, never overridden;
2. presidio pattern recognizers on a blank spaCy pipeline (``pii_recognizers``)
   for third-party e-mail addresses, phone numbers, cards, IBANs, SSNs, IPs,
   and PERSON etc. when an installed spaCy NER model is configured;
3. the keep-list (``pii_keep_list``) drops detections of step 2 that overlap
   support identifiers (serials, part numbers, error codes, versions...);

then the merged findings (``pii_spans``) are replaced by placeholders or keyed
pseudonyms (``pii_operators``). presidio is imported on first use only.
"""

from __future__ import annotations

import os

os.environ.setdefault("TLDEXTRACT_PUBLIC_SUFFIX_LIST_URLS", "")  # before presidio: no download

import functools  # noqa: E402
import logging  # noqa: E402
import threading  # noqa: E402
from collections import OrderedDict  # noqa: E402
from collections.abc import Sequence  # noqa: E402
from typing import TYPE_CHECKING, Any, Literal  # noqa: E402

import phonenumbers  # noqa: E402
import pyarrow as pa  # noqa: E402
from pydantic import Field, PrivateAttr, SecretStr, field_validator, model_validator  # noqa: E402

from blocks.errors import PiiRedactionError  # noqa: E402
from blocks.pii_context_matcher import ContextMatcher  # noqa: E402
from blocks.pii_keep_list import DEFAULT_KEEP_PATTERNS, KeepList, compile_keep_patterns  # noqa: E402
from blocks.pii_operators import Replacer, normalise_value  # noqa: E402
from blocks.pii_redactor import PiiRedactor  # noqa: E402
from blocks.pii_spans import Finding, merge_spans, resolve, rewrite  # noqa: E402
from schemas.context import CONTEXT_COLUMNS  # noqa: E402
from schemas.fields import FREE_TEXT_PROPERTIES  # noqa: E402

if TYPE_CHECKING:
    from blocks.pii_recognizers import PiiAnalyzer

__all__ = [
    "DEFAULT_ENTITIES",
    "DEFAULT_PHONE_REGIONS",
    "KNOWN_ENTITIES",
    "PiiRedactionError",
    "PresidioRedactor",
]

logger = logging.getLogger(__name__)

#: Detected without context. PERSON needs ``spacy_model``; it is skipped otherwise.
DEFAULT_ENTITIES: tuple[str, ...] = (
    "EMAIL_ADDRESS",
    "PHONE_NUMBER",
    "CREDIT_CARD",
    "IBAN_CODE",
    "US_SSN",
    "IP_ADDRESS",
    "PERSON",
)

#: presidio's default phone regions without CA (it shares the US numbering plan).
DEFAULT_PHONE_REGIONS: tuple[str, ...] = ("US", "GB", "DE", "FR", "IL", "IN", "BR")

#: Entities with a recognizer (``pii_recognizers.PATTERN_ENTITIES + NER_ENTITIES``,
#: repeated here so that configuring the block does not import presidio).
KNOWN_ENTITIES: tuple[str, ...] = (
    "EMAIL_ADDRESS",
    "PHONE_NUMBER",
    "CREDIT_CARD",
    "IBAN_CODE",
    "US_SSN",
    "IP_ADDRESS",
    "URL",
    "PERSON",
    "LOCATION",
    "ORGANIZATION",
    "NRP",
)

_FIELD_SEPARATOR = "\n\n"
_MATCHER_CACHE_SIZE = 4096
_FREE_TEXT = frozenset(FREE_TEXT_PROPERTIES)
_CONTEXT = frozenset(CONTEXT_COLUMNS)


class PresidioRedactor(PiiRedactor):
    """Removes PII with presidio recognizers and the case's own context values.

    Works offline: presidio runs on a blank spaCy pipeline unless an installed
    spaCy NER package is named in ``spacy_model``.

    Example:
        ```python
        from blocks.presidio_redactor import PresidioRedactor

        redactor = PresidioRedactor.load("default")
        clean = redactor.redact(batch)
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
    spacy_model: str | None = Field(
        default=None,
        description="Installed spaCy NER package (e.g. 'en_core_web_sm') to detect PERSON etc.; empty = blank pipeline.",
    )
    phone_regions: list[str] = Field(
        default_factory=lambda: list(DEFAULT_PHONE_REGIONS),
        description="Regions whose national phone formats are recognized (ISO 3166 codes).",
    )

    _analyzer: Any = PrivateAttr(default=None)
    _analyzer_config: Any = PrivateAttr(default=None)
    _matchers: Any = PrivateAttr(default_factory=OrderedDict)
    _lock: Any = PrivateAttr(default_factory=threading.Lock)

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
        schema = batch.schema
        if "case_id" not in schema.names:
            raise PiiRedactionError(f"batch has no column 'case_id' (expected string case ids; got {schema.names})")
        text_columns = [name for name in schema.names if name in _FREE_TEXT]
        for name in text_columns:
            _check_text_type(name, schema.field(name).type)
        context_columns = [name for name in schema.names if name in _CONTEXT]
        for name in context_columns:
            _check_context_type(name, schema.field(name).type)

        analyzer = self._get_analyzer()
        keep = KeepList(self.keep_patterns)
        replacer = Replacer(self.operator, self._key_bytes())

        case_ids = batch.column("case_id").to_pylist()
        texts = {name: batch.column(name).to_pylist() for name in text_columns}
        contexts = {name: batch.column(name).to_pylist() for name in context_columns}
        removed: list[int] = []
        for row, case_id in enumerate(case_ids):
            try:
                context = {name: contexts[name][row] for name in context_columns}
                case_key = "" if case_id is None else str(case_id)
                removed.append(self._redact_case(case_key, texts, row, context, analyzer, keep, replacer))
            except Exception as exc:  # never chain: the cause may quote the text
                raise PiiRedactionError(
                    f"PII redaction failed for case_id={case_id!r} in columns "
                    f"{text_columns} ({type(exc).__name__})"
                ) from None

        columns, fields = [], []
        for field in schema:
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
        return pa.RecordBatch.from_arrays(columns, schema=pa.schema(fields, metadata=schema.metadata))

    # --- internals ------------------------------------------------------------------

    def _redact_case(
        self,
        case_id: str,
        texts: dict[str, list],
        row: int,
        context: dict[str, Sequence[str | None] | None],
        analyzer: PiiAnalyzer,
        keep: KeepList,
        replacer: Replacer,
    ) -> int:
        """Redact one case in place in ``texts``; return the number of replacements."""
        segments: list[str] = []
        slots: list[tuple[str, int | None]] = []
        for name, values in texts.items():
            value = values[row]
            if isinstance(value, str):
                if value:
                    segments.append(value)
                    slots.append((name, None))
            elif value is not None:
                for index, item in enumerate(value):
                    if item:
                        segments.append(item)
                        slots.append((name, index))
        if not segments:
            return 0

        joined = _FIELD_SEPARATOR.join(segments)
        bounds, cursor = [], 0
        for segment in segments:
            bounds.append((cursor, cursor + len(segment)))
            cursor += len(segment) + len(_FIELD_SEPARATOR)

        hits = self._matcher(context).find(joined)
        protected = functools.cache(lambda: keep.spans(joined))
        settled = functools.cache(lambda: merge_spans([*protected(), *((h.start, h.end) for h in hits)]))
        detections = [
            Finding(r.start, r.end, r.entity_type, normalise_value(r.entity_type, joined[r.start : r.end]))
            for r in analyzer.analyze(joined, settled)
        ]
        findings = resolve(hits, detections, protected() if detections else [])
        if not findings:
            return 0

        pieces, count = rewrite(joined, bounds, findings, lambda f: replacer.token(f.entity, f.key, case_id))
        for (name, index), piece in zip(slots, pieces):
            if index is None:
                texts[name][row] = piece
            else:
                items = texts[name][row]
                if not isinstance(items, list):
                    items = texts[name][row] = list(items)
                items[index] = piece
        return count

    def _matcher(self, context: dict[str, Sequence[str | None] | None]) -> ContextMatcher:
        """The case's context matcher, cached: cases often share their people."""
        key = tuple((name, tuple(values or ())) for name, values in sorted(context.items()))
        cache: OrderedDict = self._matchers
        with self._lock:
            matcher = cache.get(key)
            if matcher is not None:
                cache.move_to_end(key)
                return matcher
        matcher = ContextMatcher.from_context(context)
        with self._lock:
            cache[key] = matcher
            if len(cache) > _MATCHER_CACHE_SIZE:
                cache.popitem(last=False)
        return matcher

    def _get_analyzer(self) -> PiiAnalyzer:
        """Build presidio once per instance (again only if its settings change)."""
        config = (tuple(self.entities), self.score_threshold, self.spacy_model, tuple(self.phone_regions))
        with self._lock:
            if self._analyzer is None or self._analyzer_config != config:
                from blocks.pii_recognizers import build_analyzer

                try:
                    self._analyzer = build_analyzer(
                        self.entities,
                        score_threshold=self.score_threshold,
                        phone_regions=self.phone_regions,
                        spacy_model=self.spacy_model,
                    )
                except (ValueError, OSError) as exc:  # configuration only: no text involved
                    raise PiiRedactionError(f"cannot build the presidio analyzer: {exc}") from exc
                self._analyzer_config = config
            return self._analyzer

    def _key_bytes(self) -> bytes | None:
        if self.pseudonym_key is None:
            return None
        return self.pseudonym_key.get_secret_value().encode()


def _is_string(data_type: pa.DataType) -> bool:
    return pa.types.is_string(data_type) or pa.types.is_large_string(data_type)


def _is_string_list(data_type: pa.DataType) -> bool:
    return (pa.types.is_list(data_type) or pa.types.is_large_list(data_type)) and _is_string(
        data_type.value_type
    )


def _check_text_type(name: str, data_type: pa.DataType) -> None:
    if not (_is_string(data_type) or _is_string_list(data_type) or _is_all_null(data_type)):
        raise PiiRedactionError(
            f"free-text column {name!r} has type {data_type}; expected string or list<string>"
        )


def _is_all_null(data_type: pa.DataType) -> bool:
    """Null, or a list of null: what Arrow infers for columns without any value."""
    if pa.types.is_list(data_type) or pa.types.is_large_list(data_type):
        data_type = data_type.value_type
    return pa.types.is_null(data_type)


def _check_context_type(name: str, data_type: pa.DataType) -> None:
    if not (_is_string_list(data_type) or _is_all_null(data_type)):
        raise PiiRedactionError(f"context column {name!r} has type {data_type}; expected list<string>")
