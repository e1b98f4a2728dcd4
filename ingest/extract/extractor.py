"""From document texts to mentions and candidate partnerships, one result per text.

A result depends only on the text, its language and the name index, so results are cached by
those (ingest.extract.cache) and a refresh re-reads only documents that changed, unless the
graph's names changed. Results are plain lists, ready for JSON.
"""

from __future__ import annotations

from bisect import bisect_right
from collections import defaultdict
from collections.abc import Iterable
from itertools import combinations
from typing import Any

from spacy.tokens import Doc, Span

from ingest.extract.cooperation import Cues
from ingest.extract.names import NameIndex
from ingest.extract.pipelines import pipeline
from ingest.extract.ruler import NameRuler, mentions

MAX_EVIDENCE = 500  # characters of a sentence kept as evidence
Result = dict[str, list[list[Any]]]


class Extractor:
    def __init__(self, index: NameIndex, cues: Cues):
        self.index = index
        self.ruler = NameRuler(index)
        self.cues = cues

    def run(self, items: Iterable[tuple[str, str, str]], batch_size: int = 64) -> dict[str, Result]:
        """Results for (key, text, language) items; each language goes through its pipeline."""
        by_language: dict[str, list[tuple[str, str]]] = defaultdict(list)
        for key, text, language in items:
            by_language["zh" if language.lower().startswith("zh") else "en"].append((key, text))
        out: dict[str, Result] = {}
        for language, group in by_language.items():
            docs = pipeline(language).pipe((text for _, text in group), batch_size=batch_size)
            for (key, _), doc in zip(group, docs, strict=True):
                out[key] = self.analyse(self.ruler(doc), language)
        return out

    def annotate(self, text: str, language: str) -> Doc:
        """The Doc with known names as entities (kb_id_ = node id): for notebooks and tests."""
        return self.ruler(pipeline(language)(text))

    def analyse(self, doc: Doc, language: str) -> Result:
        """Mentions (node, first sentence naming it) and, per pair of organisations named in one
        sentence with a cooperation word, the best (confidence, sentence) in this document; on a
        tie the longer sentence, which says more than a headline."""
        first: dict[str, str] = {}
        sentences = list(doc.sents)  # once: Span.sent walks the tokens on every call
        starts = [s.start for s in sentences]
        by_sentence: dict[int, list[Span]] = defaultdict(list)
        for ent in mentions(doc):
            at = bisect_right(starts, ent.start) - 1
            first.setdefault(ent.kb_id_, _evidence(sentences[at]))
            if ent.label_ == "ORG":
                by_sentence[at].append(ent)
        pairs: dict[tuple[str, str], tuple[float, str]] = {}
        for at, ents in by_sentence.items():
            orgs = sorted({e.kb_id_ for e in ents})
            if len(orgs) < 2:
                continue
            sentence = _evidence(sentences[at])
            cue = self.cues.strongest(sentence)
            if cue is None:
                continue
            for a, b in combinations(orgs, 2):
                gap = min(max(y.start_char - x.end_char, x.start_char - y.end_char)
                          for x in ents if x.kb_id_ == a for y in ents if y.kb_id_ == b)
                conf = self.cues.confidence(cue[1], gap, len(orgs), language)
                if (a, b) not in pairs or (conf, len(sentence)) > (pairs[(a, b)][0], len(pairs[(a, b)][1])):
                    pairs[(a, b)] = (conf, sentence)
        return {"mentions": [[node, s] for node, s in sorted(first.items())],
                "pairs": [[a, b, c, s] for (a, b), (c, s) in sorted(pairs.items())]}


def _evidence(sentence: Span) -> str:
    return " ".join(sentence.text.split())[:MAX_EVIDENCE]
