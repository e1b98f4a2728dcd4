"""One structured evidence record per reason, rendered into Chinese and English from it.

A reason used to be written twice, an English and a Chinese sentence side by side, and the two
drifted apart: the Chinese said JCET 是江阴长电先进封装的子公司 while the English said it is the
parent. Now a signal returns `Evidence` (what: a tie with its type, direction, other end, dates,
source and tier; a sector; a place; a similarity) and `render(evidence, lang)` writes the sentence
from one table of words per relation type and direction, so the two languages cannot disagree
about who owns whom. Relation names and roles are translated from the same table.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

TIERS = ("official", "curated", "extracted", "illustrative")  # best first
DEFAULT_TIER = "curated"  # a bundle loaded without a manifest

# (relation type, direction as the candidate sees it) -> (English verb phrase, Chinese pattern)
RELATION_WORDS: dict[tuple[str, str], tuple[str, str]] = {
    ("SUBSIDIARY_OF", "out"): ("is a subsidiary of {o}", "是{o}的子公司"),
    ("SUBSIDIARY_OF", "in"): ("is the parent company of {o}", "是{o}的母公司"),
    ("INVESTS_IN", "out"): ("invests in {o}", "投资了{o}"),
    ("INVESTS_IN", "in"): ("is backed by {o}", "获{o}投资"),
    ("SUPPLIES", "out"): ("supplies {o}", "向{o}供货"),
    ("SUPPLIES", "in"): ("buys from {o}", "采购{o}的产品"),
    ("PARTNERS_WITH", "out"): ("partners with {o}", "与{o}合作"),
    ("PARTNERS_WITH", "in"): ("partners with {o}", "与{o}合作"),
    ("INVOLVED_IN", "out"): ("takes part in {o}", "参与{o}"),
    ("INVOLVED_IN", "in"): ("has {o} taking part", "有{o}参与"),
    ("HAS_ROLE", "in"): ("has {o} on its board", "{o}任其董监高"),
    ("HAS_ROLE", "out"): ("sits on the board of {o}", "任{o}董监高"),
}
# The direction words a test checks in both languages (parent/subsidiary, investor/investee, …).
DIRECTION_WORDS: dict[tuple[str, str], tuple[str, str]] = {
    ("SUBSIDIARY_OF", "out"): ("subsidiary", "子公司"),
    ("SUBSIDIARY_OF", "in"): ("parent", "母公司"),
    ("INVESTS_IN", "out"): ("invests in", "投资了"),
    ("INVESTS_IN", "in"): ("backed by", "获"),
    ("SUPPLIES", "out"): ("supplies", "供货"),
    ("SUPPLIES", "in"): ("buys from", "采购"),
}
RELATION_NAMES = {
    "SUBSIDIARY_OF": ("subsidiary of", "子公司"), "INVESTS_IN": ("investment", "投资"), "SUPPLIES": ("supply", "供货"),
    "PARTNERS_WITH": ("partnership", "合作"), "INVOLVED_IN": ("project participation", "参与项目"),
    "ACTIVE_IN": ("chain link", "产业链环节"), "HAS_ROLE": ("board role", "董监高任职"),
}
ROLE_WORDS = {  # roles as sources write them -> (en, zh)
    "subsidiary": ("subsidiary", "子公司"), "controlling shareholder": ("controlling shareholder", "控股股东"),
    "major shareholder": ("major shareholder", "主要股东"), "shareholder": ("shareholder", "股东"),
    "strategic shareholder": ("strategic shareholder", "战略股东"), "founding shareholder": ("founding shareholder", "创始股东"),
    "joint-venture partner": ("joint-venture partner", "合资方"), "fund manager": ("fund manager", "基金管理人"),
    "former controlling shareholder": ("former controlling shareholder", "原控股股东"),
    "acquired subsidiary": ("acquired subsidiary", "收购的子公司"),
}
CONTEXT_WORDS = {  # why a tie matters to this question -> (en, zh)
    "anchor": ("already part of {t}", "已参与{t}"),
    "peer": ("a peer of {t}", "{t}的同类企业"),
    "local": ("a local firm", "本地企业"),
    "": ("", ""),
}


@dataclass(frozen=True)
class Evidence:
    """What a reason says, as data. `kind` picks the template; the other fields fill it.

    For a tie: rel (relation type), direction (out: the candidate is the stored source), other
    (id) with other_zh / other_en, since / until (years as the source states them), tier,
    sentence (an extracted fact's sentence), context (anchor / peer / local) and target (the
    project or firm the question is about, by name in both languages)."""

    kind: str
    rel: str = ""
    direction: str = ""
    other: str = ""
    other_zh: str = ""
    other_en: str = ""
    since: str = ""
    until: str = ""
    tier: str = DEFAULT_TIER
    sentence: str = ""
    context: str = ""
    target_zh: str = ""
    target_en: str = ""
    value: float = 0.0
    count: int = 0
    code: str = ""
    terms: tuple[str, ...] = field(default_factory=tuple)

    def as_dict(self) -> dict[str, Any]:
        return {k: v for k, v in asdict(self).items() if v not in ("", 0, 0.0, (), None)}

    @property
    def ended(self) -> bool:
        return bool(self.until)


def dates(since: str, until: str, lang: str) -> str:
    """'2016–2021' for an ended tie (its years as stated), 'since 2016' for a current one."""
    if until:
        return f"{since or '?'}–{until}"
    if since:
        return f"since {since}" if lang == "en" else f"{since}年起"
    return ""


def relation_phrase(rel: str, direction: str, other: str, lang: str) -> str:
    en, zh = RELATION_WORDS.get((rel, direction), (f"{rel.lower().replace('_', ' ')} {{o}}", "与{o}存在关联"))
    return (en if lang == "en" else zh).format(o=other)


def _tie(e: Evidence, lang: str) -> str:
    other = (e.other_en or e.other_zh or e.other) if lang == "en" else (e.other_zh or e.other_en or e.other)
    text = relation_phrase(e.rel, e.direction, other, lang)
    target = (e.target_en or e.target_zh) if lang == "en" else (e.target_zh or e.target_en)
    ctx_en, ctx_zh = CONTEXT_WORDS.get(e.context, ("", ""))
    notes = []
    when = dates(e.since, e.until, lang)
    if e.until:
        notes.append(f"ended, {when}" if lang == "en" else f"已结束，{when}")
    elif when:
        notes.append(when)
    if e.context:
        notes.append((ctx_en if lang == "en" else ctx_zh).format(t=target))
    if e.tier == "extracted":
        quote = f": “{e.sentence}”" if e.sentence else ""
        notes.append(f"extracted from text{quote}" if lang == "en" else f"文本抽取{('：' + '“' + e.sentence + '”') if e.sentence else ''}")
    if not notes:
        return text
    return f"{text} ({'; '.join(notes)})" if lang == "en" else f"{text}（{'；'.join(notes)}）"


def _name(e: Evidence, lang: str) -> str:
    return (e.other_en or e.other_zh or e.other) if lang == "en" else (e.other_zh or e.other_en or e.other)


def _target(e: Evidence, lang: str) -> str:
    return (e.target_en or e.target_zh) if lang == "en" else (e.target_zh or e.target_en)


TEMPLATES: dict[str, Any] = {
    "tie": _tie,
    "sector_same": lambda e, lang: (f"active in {_name(e, lang)}, the same chain link" if lang == "en"
                                    else f"从事{_name(e, lang)}（同一产业链环节）"),
    "sector_near": lambda e, lang: (f"active in {_name(e, lang)}, {e.count} step(s) from {_target(e, lang)} in the sector tree"
                                    if lang == "en" else f"从事{_name(e, lang)}（在行业树上距{_target(e, lang)} {e.count} 步）"),
    "sector_chain": lambda e, lang: (f"active in {_name(e, lang)}, directly up- or downstream of {_target(e, lang)}"
                                     if lang == "en" else f"从事{_name(e, lang)}（与{_target(e, lang)}为产业链上下游）"),
    "located": lambda e, lang: (f"located in {_name(e, lang)}" if lang == "en" else f"已落户{_name(e, lang)}"),
    "province": lambda e, lang: (f"located in the same province ({_name(e, lang)})" if lang == "en"
                                 else f"位于同省（{_name(e, lang)}）"),
    "local_tie": lambda e, lang: _tie(e, lang) + ("; the other firm operates locally" if lang == "en" else "（对方位于本地）"),
    "listed": lambda e, lang: (f"listed company {e.code}".strip() if lang == "en" else f"上市公司 {e.code}".strip()),
    "university": lambda e, lang: "a university" if lang == "en" else "高校",
    "institute": lambda e, lang: "a research institute" if lang == "en" else "科研院所",
    "degree": lambda e, lang: (f"well connected: {e.count} known ties" if lang == "en" else f"关系广泛：{e.count}条已知关系"),
    "recent": lambda e, lang: (f"latest dated tie in {e.since}" if lang == "en" else f"最近一次关联在{e.since}年"),
    "board": lambda e, lang: (f"shares {e.count} board member(s) with {_target(e, lang)}'s partners" if lang == "en"
                              else f"与{_target(e, lang)}相关方有{e.count}名共同董监高"),
    "text_match": lambda e, lang: (f"its description names the stated needs: {', '.join(e.terms)}" if lang == "en"
                                   else f"业务描述涉及所提需求：{'、'.join(e.terms)}"),
    "text_similar": lambda e, lang: (f"similar business description (similarity {e.value:.2f})" if lang == "en"
                                     else f"业务描述相似（相似度{e.value:.2f}）"),
    "like_anchor": lambda e, lang: (f"much like {_name(e, lang)}, already linked (similarity {e.value:.2f})" if lang == "en"
                                    else f"与已有关联方{_name(e, lang)}高度相似（{e.value:.2f}）"),
    "item_cf": lambda e, lang: (
        f"{relation_phrase(e.rel, e.direction, _name(e, lang), lang)}, which shares {e.count} "
        f"{'partner(s)' if e.rel == 'ACTIVE_IN' else 'counterpart(s)'} with {_target(e, lang)}"
        if lang == "en" else
        f"{relation_phrase(e.rel, e.direction, _name(e, lang), lang)}（该方与{_target(e, lang)}有{e.count}个共同关联方）"),
    "sector_cf": lambda e, lang: (f"active in {_name(e, lang)}, whose firms often also belong to {_target(e, lang)} "
                                  f"(overlap {e.value:.2f})" if lang == "en"
                                  else f"从事{_name(e, lang)}（该领域企业常同属{_target(e, lang)}，重合度{e.value:.2f}）"),
    "co_neighbour": lambda e, lang: (
        f"{relation_phrase(e.rel, e.direction, _name(e, lang), lang)}, as {_target(e, lang)}'s "
        f"{'investors' if e.rel == 'INVESTS_IN' else 'counterparts'} do ({e.count} in common)"
        if lang == "en" else
        f"{relation_phrase(e.rel, e.direction, _name(e, lang), lang)}（与{_target(e, lang)}的"
        f"{'投资方' if e.rel == 'INVESTS_IN' else '关联方'}共同关联，共{e.count}家）"),
    "diffusion": lambda e, lang: (f"close to {_target(e, lang)} in the graph, through {_name(e, lang)}" if lang == "en"
                                  else f"在关系网络中与{_target(e, lang)}相近（经由{_name(e, lang)}）"),
    "popular": lambda e, lang: (f"one of the most connected in {_name(e, lang)} ({e.count} ties)" if lang == "en"
                                else f"{_name(e, lang)}中关联最多的企业之一（{e.count}条关系）"),
}


def render(e: Evidence, lang: str) -> str:
    """The sentence a reason shows, in 'zh' or 'en', from the record alone."""
    return TEMPLATES[e.kind](e, lang)


def role_words(role: str, lang: str) -> str:
    en, zh = ROLE_WORDS.get((role or "").strip().lower(), (role, role))
    return en if lang == "en" else zh
