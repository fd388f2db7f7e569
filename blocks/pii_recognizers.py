"""presidio on a blank spaCy pipeline: engine construction and recognizer set.

No NER model can be downloaded on our machines, so the default engine is
``spacy.blank("en")`` plus a component that sets each token's lemma to its
lower-cased text (presidio's context words need lemmas). An installed spaCy
NER package can be named instead; it is loaded, never downloaded.

Speed (plain presidio manages ~20-60 records/s on 2 KB support texts):

* cheap prefilters decide per text which entities can match at all (no ``@``
  means no e-mail recognizer, fewer than 7 digits close together means no
  phone recognizer...), and presidio runs only the recognizers left;
* the costly recognizers look only where their entity can be
  (``pii_windowed_recognizers``);
* the spaCy pipeline runs only when needed: for an NER model, or when a result
  below the score threshold could still be raised by context words.
"""

from __future__ import annotations

import logging
import os

os.environ.setdefault("TLDEXTRACT_PUBLIC_SUFFIX_LIST_URLS", "")

import re  # noqa: E402
from bisect import bisect_right  # noqa: E402
from collections.abc import Sequence  # noqa: E402
from dataclasses import dataclass  # noqa: E402
from pathlib import Path  # noqa: E402

import spacy  # noqa: E402
from presidio_analyzer import (  # noqa: E402
    AnalyzerEngine,
    EntityRecognizer,
    RecognizerRegistry,
    RecognizerResult,
)
from presidio_analyzer.context_aware_enhancers import LemmaContextAwareEnhancer  # noqa: E402
from presidio_analyzer.nlp_engine import NlpArtifacts, SpacyNlpEngine  # noqa: E402
from presidio_analyzer.predefined_recognizers import (  # noqa: E402
    CreditCardRecognizer,
    IbanRecognizer,
    SpacyRecognizer,
    UrlRecognizer,
    UsSsnRecognizer,
)
from spacy.language import Language  # noqa: E402

from blocks.pii_windowed_recognizers import (  # noqa: E402
    SETTLED_SPANS_ATTR,
    SettledSpans,
    WindowedEmailRecognizer,
    WindowedIpRecognizer,
    WindowedPhoneRecognizer,
)

__all__ = [
    "NER_ENTITIES",
    "PATTERN_ENTITIES",
    "PiiAnalyzer",
    "build_analyzer",
]

logger = logging.getLogger(__name__)

LANGUAGE = "en"
_LEMMA_COMPONENT = "pii_lower_lemma"

#: Entities found by pattern recognizers, each with the prefilter a text must
#: pass before its recognizer runs.
_PREFILTERS: dict[str, re.Pattern[str]] = {
    "EMAIL_ADDRESS": re.compile(r"\w@\w"),
    "PHONE_NUMBER": re.compile(r"\d(?:[^\d\n]{0,3}+\d){6}"),
    "CREDIT_CARD": re.compile(r"\d(?:[ \-]?+\d){11}"),
    "IBAN_CODE": re.compile(r"[A-Za-z]{2}\d{2}[ ]?[A-Za-z0-9]{4}"),
    "US_SSN": re.compile(r"\d(?:[ .\-]?+\d){8}"),
    "IP_ADDRESS": re.compile(r"\d{1,3}\.\d{1,3}\.\d{1,3}\.\d|[0-9A-Fa-f]{0,4}:[0-9A-Fa-f]{0,4}:"),
    "URL": re.compile(r"://|www\.|\w\.[A-Za-z]{2}"),
}
PATTERN_ENTITIES: tuple[str, ...] = tuple(_PREFILTERS)

#: Entities only a spaCy NER model finds (run on every text when configured).
NER_ENTITIES: tuple[str, ...] = ("PERSON", "LOCATION", "ORGANIZATION", "NRP")


@Language.component(_LEMMA_COMPONENT)
def _lower_lemma(doc):
    """Use the lower-cased token text as lemma (a blank pipeline has none)."""
    for token in doc:
        token.lemma_ = token.lower_
    return doc


class BlankSpacyNlpEngine(SpacyNlpEngine):
    """A spaCy engine that never downloads: blank English, or an installed pipeline.

    ``model`` names an installed spaCy package or a pipeline directory.
    """

    def __init__(self, model: str | None = None) -> None:
        super().__init__(models=[{"lang_code": LANGUAGE, "model_name": model or "blank"}])
        self._model = model

    def load(self) -> None:  # noqa: D102
        if self._model is None:
            nlp = spacy.blank(LANGUAGE)
            nlp.add_pipe(_LEMMA_COMPONENT)
        elif spacy.util.is_package(self._model) or Path(self._model).is_dir():
            nlp = spacy.load(self._model)
            if "lemmatizer" not in nlp.pipe_names:
                nlp.add_pipe(_LEMMA_COMPONENT, last=True)
        else:
            raise ValueError(
                f"spacy_model {self._model!r} is neither an installed spaCy package nor a "
                "pipeline directory; install it (models are never downloaded at run time) "
                "or leave spacy_model empty for the blank pipeline"
            )
        self.nlp = {LANGUAGE: nlp}


class LazyContextEnhancer(LemmaContextAwareEnhancer):
    """Context words only for results that need them, lemmas only when used.

    A result already at or above the score threshold is kept whatever its
    context, so only weaker ones are looked at; the spaCy pipeline runs on a
    text only when such a result exists. Token lookup is a bisection instead
    of presidio's scan over every token per result.
    """

    def __init__(self, nlp_engine: SpacyNlpEngine, score_threshold: float) -> None:
        super().__init__()
        self._nlp_engine = nlp_engine
        self._score_threshold = score_threshold

    def enhance_using_context(self, text, raw_results, nlp_artifacts, recognizers, context=None):  # noqa: D102
        weak = [r for r in raw_results if r.score < self._score_threshold]
        if not weak:
            return raw_results
        if nlp_artifacts is None or not nlp_artifacts.tokens:
            nlp_artifacts = self._nlp_engine.process_text(text, LANGUAGE)
        strong = [r for r in raw_results if r.score >= self._score_threshold]
        return strong + super().enhance_using_context(text, weak, nlp_artifacts, recognizers, context)

    @staticmethod
    def _find_index_of_match_token(word, start, tokens, tokens_indices):
        index = max(bisect_right(tokens_indices, start) - 1, 0)
        token = tokens[index]
        if start >= tokens_indices[index] + len(token) and index + 1 < len(tokens_indices):
            index += 1
        return index


@dataclass(frozen=True)
class PiiAnalyzer:
    """A presidio analyzer plus the prefilters that pick its recognizers per text."""

    engine: AnalyzerEngine
    entities: tuple[str, ...]
    score_threshold: float
    needs_nlp: bool

    def analyze(self, text: str, settled: SettledSpans | None = None) -> list[RecognizerResult]:
        """Generic PII results for ``text`` at or above the score threshold.

        ``settled`` returns, when called, the sorted, merged spans whose fate
        is already decided (protected tokens, context values): the phone
        recognizer skips numbers inside them.
        """
        wanted = [e for e in self.entities if e not in _PREFILTERS or _PREFILTERS[e].search(text)]
        if not wanted:
            return []
        if self.needs_nlp:
            artifacts = self.engine.nlp_engine.process_text(text, LANGUAGE)
        else:
            artifacts = NlpArtifacts(
                entities=[], tokens=[], tokens_indices=[], lemmas=[], nlp_engine=self.engine.nlp_engine, language=LANGUAGE
            )
        setattr(artifacts, SETTLED_SPANS_ATTR, settled)
        return self.engine.analyze(
            text,
            language=LANGUAGE,
            entities=wanted,
            score_threshold=self.score_threshold,
            nlp_artifacts=artifacts,
        )


def build_analyzer(
    entities: Sequence[str],
    *,
    score_threshold: float,
    phone_regions: Sequence[str],
    spacy_model: str | None = None,
) -> PiiAnalyzer:
    """Build the analyzer for ``entities``.

    An entity no recognizer of this setup knows raises ``ValueError``; an NER
    entity (``PERSON``...) without ``spacy_model`` is left out and logged once.
    """
    unknown = [e for e in entities if e not in PATTERN_ENTITIES and e not in NER_ENTITIES]
    if unknown:
        raise ValueError(
            f"entities: no recognizer for {', '.join(map(repr, unknown))}; "
            f"expected some of {', '.join(PATTERN_ENTITIES + NER_ENTITIES)}"
        )
    ner = [e for e in entities if e in NER_ENTITIES] if spacy_model else []
    supported = set(PATTERN_ENTITIES) | set(ner)
    skipped = [e for e in entities if e not in supported]
    if skipped:
        logger.info("PII entities %s skipped: NER entities need spacy_model", ", ".join(skipped))

    # presidio's debug output quotes the words around a match: never let it out,
    # not even when the root logger is set to DEBUG after the analyzer is built.
    presidio_logger = logging.getLogger("presidio-analyzer")
    if presidio_logger.level == logging.NOTSET or presidio_logger.level < logging.INFO:
        presidio_logger.setLevel(logging.INFO)
    nlp_engine = BlankSpacyNlpEngine(spacy_model)
    nlp_engine.load()
    registry = RecognizerRegistry(supported_languages=[LANGUAGE])
    for recognizer in _pattern_recognizers(entities, phone_regions):
        registry.add_recognizer(recognizer)
    if ner:
        registry.add_recognizer(SpacyRecognizer(supported_language=LANGUAGE, supported_entities=ner))
    engine = AnalyzerEngine(
        registry=registry,
        nlp_engine=nlp_engine,
        supported_languages=[LANGUAGE],
        context_aware_enhancer=LazyContextEnhancer(nlp_engine, score_threshold),
    )
    return PiiAnalyzer(
        engine=engine,
        entities=tuple(dict.fromkeys(e for e in entities if e in supported)),
        score_threshold=score_threshold,
        needs_nlp=bool(ner),
    )


def _pattern_recognizers(entities: Sequence[str], phone_regions: Sequence[str]) -> list[EntityRecognizer]:
    factories = {
        "EMAIL_ADDRESS": WindowedEmailRecognizer,
        "PHONE_NUMBER": lambda: WindowedPhoneRecognizer(
            phone_regions, skip_cards="CREDIT_CARD" in entities, skip_ssns="US_SSN" in entities
        ),
        "CREDIT_CARD": CreditCardRecognizer,
        "IBAN_CODE": IbanRecognizer,
        "US_SSN": UsSsnRecognizer,
        "IP_ADDRESS": WindowedIpRecognizer,
        "URL": UrlRecognizer,
    }
    return [factories[e]() for e in dict.fromkeys(entities) if e in factories]
