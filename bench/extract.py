"""Text extraction at scale: name-index build time and documents per second.

    PYTHONPATH=. .venv/bin/python bench/extract.py [--orgs 200000] [--docs 2000]

Organisations are synthetic but shaped like real ones (region prefix, a two- or three-character
core, an industry term and a legal suffix in Chinese; the pinyin core, an industry word and
"Co., Ltd." in English, plus a short alias); news items mention three to five of them, a city
and often a cooperation word. Prints figures only; behaviour is asserted in tests/test_extract.py.
"""

from __future__ import annotations

import argparse
import random
import resource
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from pypinyin import lazy_pinyin  # noqa: E402

from ingest.extract.cooperation import load_cues  # noqa: E402
from ingest.extract.extractor import Extractor  # noqa: E402
from ingest.extract.names import build_index, index_inputs, inputs_digest  # noqa: E402
from ingest.extract.pipelines import chinese, english  # noqa: E402
from kg.store import Node  # noqa: E402

CHARS = "华芯微电长科创鑫源达海天新晶集联恒盛通宏瑞星光和泰兴德安圣凯博锐明中国精讯智汇"
REGIONS = [("无锡", "Wuxi"), ("江苏", "Jiangsu"), ("上海", "Shanghai"), ("苏州", "Suzhou"), ("南京", "Nanjing")]
INDUSTRY = [("半导体", "Semiconductor"), ("微电子", "Microelectronics"), ("科技", "Technology"),
            ("智能", "Intelligence"), ("集成电路", "Integrated Circuit")]
ZH_VERBS = ["签署战略合作协议", "宣布合作", "共建联合实验室", "发布新品", "举行交流会"]
EN_VERBS = ["signed a strategic cooperation agreement with", "formed a joint venture with", "met", "visited"]


def organisations(n: int, rng: random.Random) -> list[Node]:
    nodes = []
    for i in range(n):
        core = "".join(rng.choice(CHARS) for _ in range(rng.choice((2, 3, 3))))
        region, industry = rng.choice(REGIONS), rng.choice(INDUSTRY)
        latin = "".join(lazy_pinyin(core)).title()
        nodes.append(Node(f"o{i}", "Organization", {
            "name_zh": f"{region[0]}{core}{industry[0]}有限公司",
            "name_en": f"{region[1]} {latin} {industry[1]} Co., Ltd.",
            "aliases": [f"{core}{industry[0][:2]}", f"{latin.upper()[:4]}{i % 97}"],
            "kind": "company"}))
    nodes += [Node(f"r{i}", "Region", {"name_zh": zh + "市", "name_en": en}) for i, (zh, en) in enumerate(REGIONS)]
    return nodes


def documents(nodes: list[Node], n: int, rng: random.Random) -> list[tuple[str, str, str]]:
    orgs = [x for x in nodes if x.label == "Organization"]
    out = []
    for i in range(n):
        picked = rng.sample(orgs, rng.randint(3, 5))
        if i % 2:
            a, b, *rest = (p.props["name_en"].replace(" Co., Ltd.", "") for p in picked)
            text = (f"{a} {rng.choice(EN_VERBS)} {b} in {rng.choice(REGIONS)[1]} on Tuesday, the companies said. "
                    f"Analysts expect {', '.join(rest)} to follow. " * 3)
            out.append((f"d{i}", text, "en"))
        else:
            a, b, *rest = (p.props["aliases"][0] for p in picked)
            text = (f"{a}与{b}在{rng.choice(REGIONS)[0]}{rng.choice(ZH_VERBS)}，双方将在先进封装领域开展合作。"
                    f"{'、'.join(rest)}等企业出席了活动。" * 3)
            out.append((f"d{i}", text, "zh"))
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--orgs", type=int, default=200_000)
    parser.add_argument("--docs", type=int, default=2_000)
    args = parser.parse_args()
    rng = random.Random(7)
    nodes = organisations(args.orgs, rng)
    docs = documents(nodes, args.docs, rng)
    english(), chinese()  # model loading is not part of the figures

    t0 = time.perf_counter()
    rows = index_inputs(nodes, {})
    digest = inputs_digest(rows, load_cues().digest)
    t1 = time.perf_counter()
    index = build_index(rows, digest)
    t2 = time.perf_counter()
    extractor = Extractor(index, load_cues())
    rates = {}
    for lang in ("zh", "en"):
        items = [d for d in docs if d[2] == lang]
        start = time.perf_counter()
        results = extractor.run(items)
        rates[lang] = (len(items) / (time.perf_counter() - start),
                       sum(len(r["mentions"]) for r in results.values()) / max(len(items), 1),
                       sum(len(r["pairs"]) for r in results.values()))
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"| organisations | {args.orgs:,} |")
    print(f"| names in the index (forms) | {index.size:,} (ambiguous dropped: {index.ambiguous:,}) |")
    print(f"| inputs + digest | {t1 - t0:.1f} s |")
    print(f"| index build | {t2 - t1:.1f} s |")
    for lang, (rate, per_doc, pairs) in rates.items():
        print(f"| {lang} documents | {rate:,.0f} docs/s, {per_doc:.1f} mentions/doc, {pairs} candidate pairs |")
    print(f"| peak memory | {peak_mb:,.0f} MB |")


if __name__ == "__main__":
    main()
