"""The result of resolve(): entities with every name kept, stable ids, and explanations.

Why canonical ids are record ids: an id that exists in a source can be looked up and cited,
and choosing it by a fixed rank (preferred prefixes and credit-code holders, then stock-code
holders, then the smallest id) makes it deterministic and untouched by unrelated records.
Every member id, and every id named in `previous`, resolves to its entity's canonical id.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from ingest.resolve.decisions import Decision, DecisionTable, Judgement, Origin
from ingest.resolve.features import RecordFeatures, record_names, split_values_keep
from ingest.resolve.keys import RecordKeys, split_values
from ingest.resolve.settings import ResolveSettings

if TYPE_CHECKING:
    from ingest.resolve.incremental import ResolveState

__all__ = ["Clustering", "Entity", "Explanation", "Resolution"]


def _unique(values) -> tuple[str, ...]:
    out: list[str] = []
    for v in values:
        v = str(v).strip()
        if v and v not in out:
            out.append(v)
    return tuple(out)


@dataclass(frozen=True)
class Entity:
    """One organisation: its canonical id, member records and everything they call it."""

    id: str
    record_ids: tuple[str, ...]
    names: tuple[str, ...]  # all distinct names: Chinese, English and aliases
    names_zh: tuple[str, ...]
    names_en: tuple[str, ...]
    aliases: tuple[str, ...]
    sources: tuple[str, ...]
    stock_codes: tuple[str, ...]
    credit_codes: tuple[str, ...]
    cities: tuple[str, ...]
    sectors: tuple[str, ...]
    kinds: tuple[str, ...]


@dataclass(frozen=True)
class Explanation:
    """Why a record belongs to its entity, as data (as_dict) and as text (text)."""

    record_id: str
    canonical_id: str
    members: tuple[str, ...]
    shared_keys: tuple[tuple[str, tuple[str, ...]], ...]  # (key, members holding it)
    links: tuple[Decision, ...]  # the 'same' rows that built the cluster (a spanning tree)
    supporting: tuple[Decision, ...]  # further 'same' rows inside the cluster, not needed to join it
    manual: tuple[Decision, ...]  # manual rows touching any member
    refused: tuple[tuple[Decision, str], ...]  # 'same' rows touching a member, left out, and why
    unsure: tuple[Decision, ...]  # rows awaiting review touching this record

    def as_dict(self) -> dict[str, Any]:
        return {"record_id": self.record_id, "canonical_id": self.canonical_id, "members": list(self.members),
                "shared_keys": [{"key": k, "records": list(r)} for k, r in self.shared_keys],
                "links": [d.as_dict() for d in self.links], "supporting": [d.as_dict() for d in self.supporting],
                "manual": [d.as_dict() for d in self.manual],
                "refused": [{**d.as_dict(), "refused_because": why} for d, why in self.refused],
                "unsure": [d.as_dict() for d in self.unsure]}

    @property
    def text(self) -> str:
        lines = [f"{self.record_id} resolves to {self.canonical_id} ({len(self.members)} records: "
                 f"{', '.join(self.members)})"]
        if self.shared_keys:
            lines.append("Shared keys:")
            lines += [f"  {k}: {', '.join(r)}" for k, r in self.shared_keys]
        if self.links:
            lines.append("Links:")
            for d in self.links:
                lines.append(f"  {_render(d)}")
                lines += [f"      {e.feature} {e.value:+.2f}: {e.detail}" for e in d.evidence]
        if self.supporting:
            lines.append("Also judged the same:")
            lines += [f"  {_render(d)}" for d in self.supporting]
        if self.manual:
            lines.append("Manual decisions:")
            lines += [f"  {_render(d)}" for d in self.manual]
        if self.refused:
            lines.append("Links refused:")
            lines += [f"  {_render(d)}; refused: {why}" for d, why in self.refused]
        if self.unsure:
            lines.append("Awaiting review:")
            lines += [f"  {_render(d)}" for d in self.unsure]
        return "\n".join(lines)


def _render(d: Decision) -> str:
    sign = {Judgement.SAME: "=", Judgement.NOT_SAME: "≠", Judgement.UNSURE: "?", Judgement.BELOW: "<"}[d.judgement]
    if d.origin is Origin.MANUAL:
        by = f"manual, by {d.who or 'unknown'}" + (f" on {d.when}" if d.when else "")
    else:
        by = "auto" + (f", score {d.score:.2f}" if d.score is not None else "")
    return f"{d.record_a} {sign} {d.record_b} [{by}] {d.reason}"


def _retired_ids(previous: Mapping[str, str], canonical_of: Mapping[str, str]) -> dict[str, str]:
    """Ids known before but absent now, mapped to the entity their old entity lives on in.

    The old entity is found through its old canonical id if that record is still here, else
    through the smallest surviving id that shared it.
    """
    survivors: dict[str, list[str]] = {}
    for old_id, old_canonical in previous.items():
        if old_id in canonical_of:
            survivors.setdefault(old_canonical, []).append(old_id)
    out = {}
    for old_id, old_canonical in previous.items():
        if old_id in canonical_of:
            continue
        if old_canonical in canonical_of:  # the record left, its entity did not
            out[old_id] = canonical_of[old_canonical]
        elif old_canonical in survivors:  # its canonical record left too
            out[old_id] = canonical_of[min(survivors[old_canonical])]
    return out


@dataclass(frozen=True)
class Clustering:
    """The clusters union-find made of the decision table (ingest.resolve.cluster), kept by the
    Resolution built from them: which 'same' rows joined clusters and which were refused, and why."""


    clusters: tuple[tuple[str, ...], ...]  # each sorted; clusters in order of their first id
    used: tuple[Decision, ...]  # the 'same' rows that joined two clusters
    refused: tuple[tuple[Decision, str], ...]  # 'same' rows left out, with why


class Resolution:
    """Entities, the decision table they were computed from, and lookups by record id."""

    def __init__(self, entities: Mapping[str, Entity], canonical_of: Mapping[str, str], table: DecisionTable,
                 clustering: Clustering, feats: Mapping[str, RecordFeatures]) -> None:
        self.entities = dict(entities)
        self.decisions = table
        self.clustering = clustering
        self._canonical = dict(canonical_of)
        self._features = dict(feats)
        self.state: ResolveState | None = None  # what the next run may reuse (set by resolve())
        self.scored = 0  # pairs scored by this run (the others' decisions were reused)

    @classmethod
    def build(cls, records: Sequence[Mapping[str, Any]], feats: Sequence[RecordFeatures], table: DecisionTable,
              clustering: Clustering, settings: ResolveSettings,
              previous: Mapping[str, str] | None = None) -> Resolution:
        by_id = {f.record_id: (r, f) for r, f in zip(records, feats, strict=True)}

        def rank(rid: str) -> tuple:
            f = by_id[rid][1]
            preferred = rid.startswith(settings.canonical_prefixes) or bool(f.keys.credit_codes)
            return (0 if preferred else 1 if f.keys.stock_codes else 2, rid)

        entities: dict[str, Entity] = {}
        canonical_of: dict[str, str] = {}
        for members in clustering.clusters:
            cid = min(members, key=rank)
            rows = [by_id[m] for m in members]
            entities[cid] = Entity(
                id=cid, record_ids=members,
                names=_unique(n for r, f in rows for n in record_names(r, f.keys)),
                names_zh=_unique(n for r, _ in rows for n in split_values_keep(r.get("name_zh"))),
                names_en=_unique(n for r, _ in rows for n in split_values_keep(r.get("name_en"))),
                aliases=_unique(a for _, f in rows for a in f.keys.aliases),
                sources=_unique(sorted(f.source for _, f in rows)),
                stock_codes=_unique(sorted(c for _, f in rows for c in f.keys.stock_codes)),
                credit_codes=_unique(sorted(c for _, f in rows for c in f.keys.credit_codes)),
                cities=_unique(sorted(str(r["city"]) for r, _ in rows if r.get("city"))),
                sectors=_unique(sorted(s for r, _ in rows for s in split_values(r.get("sectors")))),
                kinds=_unique(sorted(str(r["kind"]) for r, _ in rows if r.get("kind"))))
            canonical_of.update((m, cid) for m in members)
        canonical_of.update(_retired_ids(previous or {}, canonical_of))
        return cls(entities, canonical_of, table, clustering, {f.record_id: f for f in feats})

    def canonical(self, record_id: str) -> str:
        """The canonical id for a record id, a retired id from `previous`, or a canonical id."""
        try:
            return self._canonical[record_id]
        except KeyError:
            raise KeyError(f"unknown record id {record_id!r}") from None

    def keys_of(self, record_id: str) -> RecordKeys:
        """The record's codes as validated (with the rejected ones and why)."""
        return self._features[record_id].keys

    def problems_of(self, record_id: str) -> tuple[str, ...]:
        """Why a record could not take full part: codes that failed their check, no name left
        after normalisation, nothing but an id (see features.record_problems)."""
        return self._features[record_id].problems

    def entity(self, record_id: str) -> Entity:
        return self.entities[self.canonical(record_id)]

    def id_map(self) -> dict[str, str]:
        """Every known id to its canonical id: pass it as `previous` to the next resolve()."""
        return dict(self._canonical)

    def same_pairs(self) -> set[tuple[str, str]]:
        """All unordered pairs of records in one entity, for evaluation against known truth."""
        return {(a, b) for e in self.entities.values() for i, a in enumerate(e.record_ids)
                for b in e.record_ids[i + 1:]}

    def _by_record(self, which: str) -> dict[str, list]:
        """Decisions used (or refused) by the clustering, per record: explain() is called for
        every merged entity of a refresh, so it must not scan all decisions each time."""
        cache = self.__dict__.setdefault("_index", {})
        if which not in cache:
            index: dict[str, list] = {}
            for item in getattr(self.clustering, which):
                d = item[0] if which == "refused" else item
                for rid in (d.record_a, d.record_b):
                    index.setdefault(rid, []).append(item)
            cache[which] = index
        return cache[which]

    def explanation_inputs(self, entity_id: str, hashes: Mapping[str, str]) -> str:
        """A digest of everything explain() reads for an entity, given each record's content hash:
        equal digests, equal explanations. Much cheaper than explain() itself, so a refresh keeps
        the earlier explanation of every entity nothing touched."""
        entity = self.entities[entity_id]
        parts: list[Any] = [entity.id, entity.record_ids]
        for m in entity.record_ids:
            parts.append(hashes.get(m))
            for d in self.decisions.for_record(m):
                parts.append((d.pair, d.judgement.value, d.origin.value, d.score, d.reason, d.who, d.when,
                              hashes.get(d.other(m)), d.evidence if d.origin is Origin.MANUAL else ()))
            parts += [d.pair for d in self._by_record("used").get(m, ())]
            parts += [(d.pair, why) for d, why in self._by_record("refused").get(m, ())]
        return hashlib.sha1(repr(parts).encode()).hexdigest()

    def explain(self, record_id: str) -> Explanation:
        entity = self.entity(record_id)
        members = set(entity.record_ids)
        holders: dict[str, list[str]] = {}
        for m in entity.record_ids:
            for key in sorted(self._features[m].strong_keys):
                holders.setdefault(key, []).append(m)
        shared = tuple((k, tuple(v)) for k, v in sorted(holders.items()) if len(v) > 1)
        touching = sorted({d.pair: d for m in entity.record_ids for d in self.decisions.for_record(m)}.items())
        links = tuple(d for m in entity.record_ids for d in self._by_record("used").get(m, ()) if d.record_a == m)
        used = {d.pair for d in links}
        supporting = tuple(d for pair, d in touching if d.judgement is Judgement.SAME
                           and pair[0] in members and pair[1] in members and pair not in used)
        manual = tuple(d for _, d in touching if d.origin is Origin.MANUAL)
        refused = tuple(dict.fromkeys(x for m in entity.record_ids for x in self._by_record("refused").get(m, ())))
        unsure = tuple(d for d in self.decisions.for_record(record_id) if d.judgement is Judgement.UNSURE)
        return Explanation(record_id, entity.id, entity.record_ids, shared, links, supporting, manual, refused,
                           unsure)
