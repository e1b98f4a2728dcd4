"""Relation roles as the sources write them (free text, mostly English: "controlling shareholder",
"host government"), with their Chinese, so a page in Chinese does not fall back to English for
the words staff read most. A role not listed shows as written, marked as the other language
(web.i18n.role_text). Kept beside the UI catalogue because these are words of the trade, not of
one source; add a line when a new source brings a new role.
"""

from __future__ import annotations

import re

ROLE_ZH: dict[str, str] = {
    "shareholder": "股东", "15% shareholder": "持股15%的股东", "85% shareholder": "持股85%的股东",
    "major shareholder": "主要股东", "largest shareholder": "第一大股东", "controlling shareholder": "控股股东",
    "former controlling shareholder": "原控股股东", "founding shareholder": "创始股东", "strategic shareholder": "战略股东",
    "largest pre-IPO shareholder": "上市前第一大股东", "actual controller": "实际控制人", "state owner": "国资出资人",
    "investor": "投资方", "lead investor": "领投方", "long-term investment partner": "长期投资伙伴",
    "investment agreement": "投资协议", "fund manager": "基金管理人",
    "subsidiary": "子公司", "wholly owned subsidiary": "全资子公司", "controlled subsidiary": "控股子公司",
    "majority-owned subsidiary": "控股子公司", "acquired subsidiary": "收购的子公司",
    "majority-owned joint venture": "控股合资企业", "joint-venture partner": "合资伙伴",
    "co-founder": "联合创始方", "technology origin": "技术来源", "technology origin and shareholder": "技术来源及股东",
    "host government": "属地政府", "host park": "所在园区", "administered by": "归口管理",
    "administered jointly with the district": "与所在区共管", "district under the city": "市辖区",
    "county-level city administered by Wuxi": "无锡代管的县级市", "prefecture-level city of Jiangsu": "江苏省地级市",
    "municipal bureau": "市级部门", "municipal commission": "市级委员会", "provincial department": "省级部门",
    "sponsoring bureau": "主管部门", "investment promotion lead": "招商牵头单位",
    "institute of CAS": "中科院下属研究所", "research institute": "研究院所", "university institute": "高校研究院",
    "co-operating university": "合作高校", "founding university": "创办高校",
    "compute partner": "算力合作伙伴", "candidate compute partner": "潜在算力合作伙伴",
    "reference-design partner": "参考设计合作伙伴", "model co-developer": "大模型联合研发方", "system developer": "系统开发方",
    "supplier": "供应商", "equipment supplier": "设备供应商", "etch equipment supplier": "刻蚀设备供应商",
    "lithography supplier": "光刻设备供应商", "cleaning equipment supplier": "清洗设备供应商",
    "crystal-growth furnace supplier": "长晶炉供应商", "precursor supplier": "前驱体供应商",
    "300mm wafer supplier": "12英寸硅片供应商", "foundry supplier": "晶圆代工供应商",
    "foundry and CoWoS supplier": "晶圆代工及CoWoS封装供应商", "packaging and test supplier": "封装测试供应商",
    "DRAM packaging and test services": "DRAM封装测试服务", "PCB supplier": "PCB供应商", "HBM supplier": "HBM供应商",
    "GPU supplier": "GPU供应商", "CPU/GPU supplier": "CPU/GPU供应商", "CPU and DCU supplier": "CPU与DCU供应商",
    "Ascend compute supplier": "昇腾算力供应商", "memory interface chip supplier": "内存接口芯片供应商",
    "optical component supplier": "光器件供应商", "optical transceiver supplier": "光模块供应商",
    "data-centre provider": "数据中心服务商", "hyperscale data-centre provider": "超大规模数据中心服务商",
    "wholesale data-centre provider": "批发型数据中心服务商",
}
ROLE_EN: dict[str, str] = {zh: en for en, zh in ROLE_ZH.items()}
ROLE_EN.update({"董事": "director", "董事长/董事": "chair and director", "独立董事": "independent director",
                "副董事长/董事": "vice chair and director", "名誉董事长": "honorary chair", "执行董事": "executive director",
                "董事长": "chair", "总经理": "general manager", "监事": "supervisor"})
_HAN = re.compile(r"[\u3400-\u9fff]")


def role_in(role: str, lang: str) -> tuple[str, bool]:
    """(the role in `lang`, True when it is only available in the other language)."""
    if not role:
        return "", False
    if lang == "zh":
        if _HAN.search(role):
            return role, False
        zh = ROLE_ZH.get(role) or ROLE_ZH.get(role.lower())
        return (zh, False) if zh else (role, True)
    if not _HAN.search(role):
        return role, False
    en = ROLE_EN.get(role)
    return (en, False) if en else (role, True)
