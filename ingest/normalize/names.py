"""Organisation names turned into matching keys, in Chinese and Latin script: the public face.

Why all the stripping: sources write one firm as 江苏长电科技股份有限公司, 长电科技, 長電科技 and
"JCET Group Co., Ltd."; what tells firms apart is the distinctive core (长电, jcet), while
legal forms, places and industry words only confirm or contradict. The word lists are data
(legal_forms.yaml, regions.yaml, industry_terms.yaml, org_terms.yaml, numbers.yaml,
short_forms.yaml). The layers below: legal.py (cleaning, legal forms), parts.py (place, core,
industry and kind of organisation, numbers), pinyin.py.
"""

from __future__ import annotations

from ingest.normalize.legal import is_chinese, normalize_org_name, strip_legal_forms
from ingest.normalize.parts import (
    MIN_CORE_ZH,
    NameParts,
    acronyms,
    parse_name,
    split_industry_zh,
    split_region_zh,
)
from ingest.normalize.pinyin import pinyin_initials, pinyin_key, pinyin_variants
from ingest.normalize.vocab import vocabulary

ADMIN_SUFFIXES_ZH = "省市区县"

__all__ = ["NameParts", "acronyms", "is_chinese", "name_tokens", "normalize_org_name", "parse_name",
           "pinyin_initials", "pinyin_key", "pinyin_variants", "short_name_variants",
           "strip_legal_forms", "strip_region_prefix"]


def name_tokens(s: str) -> list[str]:
    """Words of the name without legal forms: Latin words, and Chinese split into core and
    industry terms (长电科技 -> [长电, 科技]). A domain split, not a general segmenter: the
    pieces that matter for organisation names are exactly the ones our lists know."""
    return list(parse_name(s).tokens)


def strip_region_prefix(s: str) -> str:
    """江苏长电科技 -> 长电科技, 无锡华润微电子 -> 华润微电子; 江苏银行 stays (银行 alone names no one).

    Latin names lose their place words the same way ("Wuxi NCE Power" -> ncepower), unless
    nothing distinctive is left ("Wuxi Rural Commercial Bank" keeps its Wuxi).
    """
    key = normalize_org_name(s)
    if is_chinese(key):
        return split_region_zh(key)[1]
    p = parse_name(s)
    return p.base if p.core else key


def short_name_variants(name: str) -> set[str]:
    """Short forms a source might use for this name, as matching keys.

    >>> sorted(short_name_variants("上海硅产业集团股份有限公司"))
    ['上海硅', '上海硅产', '上海硅产业', '沪硅产业']
    """
    v = vocabulary()
    p = parse_name(name)
    out = {p.key}
    if p.core or p.chinese:  # "Bank of Jiangsu" without its place is just "bank"
        out.add(p.base)
    if p.chinese:
        for form in (p.key, p.base):
            for long, short in v.short_forms:
                if long in form:
                    form = form.replace(long, short)
                    out.add(form)
        for r in v.abbreviated_regions:
            if p.key.startswith(r.zh):
                out.add(r.abbr + p.key[len(r.zh):])
        for size in (3, 4) if p.core else ():  # 无锡市人民政府 has no distinctive start to shorten to
            if len(p.base) > size and len(split_industry_zh(p.base[:size])[0]) >= MIN_CORE_ZH:
                out.add(p.base[:size])
        if len(p.core) >= MIN_CORE_ZH:
            out.add(p.core)
            terms = split_industry_zh(p.base)[1]
            if terms:  # 浪潮电子信息产业 -> 浪潮电子
                out.add(p.core + terms[0])
    elif len(p.core) >= 3:
        out.add(p.core)
    return {x for x in out if len(x) >= 2 and x not in v.region_by_zh and x not in v.term_zh
            and not (x[-1] in ADMIN_SUFFIXES_ZH and x[:-1] in v.region_by_zh)}  # 无锡市 names a place
