"""The entity ruler: finds the index's names in a spaCy Doc and sets them as doc.ents, each
with the graph node id as kb_id.

Why a dictionary scan rather than spaCy's PhraseMatcher / EntityRuler: for 200,000 names,
building a PhraseMatcher took about 36 s (25 s to tokenise the patterns, 11 s to add them)
against 1-2 s here, and for Chinese a matcher over jieba tokens misses a name that jieba cuts
differently in running text (长电科技 is 长电|科技, but a new firm's name may be cut across
its edges). So Han names are looked up character by character (keyed by their first two
characters, then tried longest first) and Latin names word by word (keyed by the first word);
both are O(length of text). The spaCy tokens still matter: a short Han name (≤ 3 characters,
e.g. 华虹) counts only when it starts and ends on token boundaries, so 华虹 is not found
inside an unrelated longer word.
"""

from __future__ import annotations

from spacy.tokens import Doc, Span
from spacy.util import filter_spans

from ingest.extract.names import LATIN_WORD, NameIndex, fold

SHORT_HAN = 3  # Han names this short must align with token boundaries
MAX_LATIN_GAP = 3  # characters allowed between two words of a name ("Co., Ltd.")


def _latin_char(ch: str) -> bool:
    return ch.isascii() and ch.isalnum()


class NameRuler:
    """A Doc -> Doc component: doc.ents become the known names found in the text."""

    def __init__(self, index: NameIndex):
        self.index = index

    def find(self, text: str, bounds: set[int] | None = None) -> list[tuple[int, int, str]]:
        """(start, end, node id) of every name found, overlaps resolved longest first."""
        folded = fold(text)
        found = self._han(folded, bounds) + self._latin(text, folded)
        found.sort(key=lambda m: (m[0] - m[1], m[0]))
        taken: list[tuple[int, int, str]] = []
        for m in found:
            if all(m[1] <= t[0] or m[0] >= t[1] for t in taken):
                taken.append(m)
        return sorted(taken)

    def _han(self, folded: str, bounds: set[int] | None) -> list[tuple[int, int, str]]:
        han, lengths = self.index.han, self.index.han_lengths
        out = []
        n = len(folded)
        for i in range(n - 1):
            sizes = lengths.get(folded[i:i + 2])
            if not sizes:
                continue
            for size in sizes:
                end = i + size
                node = han.get(folded[i:end]) if end <= n else None
                if node is None:
                    continue
                if _latin_char(folded[i]) and i > 0 and _latin_char(folded[i - 1]):
                    continue
                if _latin_char(folded[end - 1]) and end < n and _latin_char(folded[end]):
                    continue
                if size <= SHORT_HAN and bounds is not None and (i not in bounds or end not in bounds):
                    continue
                out.append((i, end, node))
                break
        return out

    def _latin(self, text: str, folded: str) -> list[tuple[int, int, str]]:
        latin, lengths, upper = self.index.latin, self.index.latin_lengths, self.index.upper_only
        words = [(m.start(), m.end(), m.group()) for m in LATIN_WORD.finditer(folded)]
        out = []
        for wi, (start, _, word) in enumerate(words):
            for size in lengths.get(word, ()):
                span = words[wi:wi + size]
                if len(span) < size or any(b[0] - a[1] > MAX_LATIN_GAP or "\n" in folded[a[1]:b[0]]
                                           for a, b in zip(span, span[1:], strict=False)):
                    continue
                key = " ".join(w[2] for w in span)
                node = latin.get(key)
                if node is None or (key in upper and not text[start:span[-1][1]].isupper()):
                    continue
                out.append((start, span[-1][1], node))
                break
        return out

    def __call__(self, doc: Doc) -> Doc:
        bounds = {t.idx for t in doc} | {t.idx + len(t.text) for t in doc}
        spans = []
        for start, end, node in self.find(doc.text, bounds):
            span = doc.char_span(start, end, label=self.index.labels[node], kb_id=node, alignment_mode="expand")
            if span is not None:
                spans.append(span)
        doc.ents = filter_spans(spans)
        return doc


def mentions(doc: Doc) -> list[Span]:
    """The entities the ruler set: spans with label ORG or GPE and the node id as kb_id_."""
    return [e for e in doc.ents if e.kb_id_]
