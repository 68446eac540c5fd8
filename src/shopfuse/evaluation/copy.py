"""Copy evaluation: generated marketing copy against reference copy and against the product record.

:func:`evaluate_copy` scores candidates (``{id: text}``) against references (``{id: [texts]}``):

- text metrics (:mod:`shopfuse.evaluation.copy_metrics`): sacrebleu BLEU-4 (0-100), METEOR, ROUGE-L,
  CIDEr-D, distinct-1/2 across products, lengths; for Chinese also ``chatglm``: ROUGE-1/2/L and BLEU-4
  exactly as the ChatGLM-6B P-tuning v2 evaluation computes them (0-100), next to the published
  AdvertiseGen dev figures;
- with a catalogue, fact metrics through :func:`shopfuse.content.claims.check`: attribute coverage,
  contradictions, unsupported claims, and PARENT precision/recall/F against the record's attributes;
- with rules, banned words and length limits per item.

Metrics other than BLEU and the ChatGLM-style ones are on a 0-1 scale (CIDEr-D on its own, x10).
The readers (:func:`read_candidates`, :func:`read_references`, :func:`read_catalog`,
:func:`load_rules`) refuse bad input with the file and line.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from statistics import fmean
from typing import Any

from shopfuse.content.catalog import catalog_records, jsonl_objects
from shopfuse.content.facts import ProductFacts
from shopfuse.content.text import language, words
from shopfuse.errors import CatalogError, ConfigError
from shopfuse.evaluation.copy_metrics import (
    chatglm_scores,
    cider_d,
    distinct_n,
    meteor,
    parent,
    rouge_l,
    sacre_bleu,
)

__all__ = [
    "CHATGLM_ADVERTISEGEN",
    "CopyRules",
    "RuleSet",
    "evaluate_copy",
    "fact_metrics",
    "load_rules",
    "read_candidates",
    "read_catalog",
    "read_references",
    "rule_violations",
]

CHATGLM_ADVERTISEGEN = {
    "model": "ChatGLM-6B P-tuning v2, AdvertiseGen dev (114k training pairs, 3 GPU-hours)",
    "bleu-4": 7.97,
    "rouge-1": 31.2,
    "rouge-2": 7.1,
    "rouge-l": 25.0,
}
"""The published figures the ``chatglm`` block compares with (ChatGLM-6B ``ptuning/README``)."""


# --- reading ------------------------------------------------------------------------------------


def _row_id(path: Path, number: int, row: Mapping[str, Any], seen: dict[str, int]) -> str:
    raw = row.get("id")
    if raw is None or isinstance(raw, dict | list) or not str(raw).strip():
        raise CatalogError(f"{path}:{number}: no 'id'")
    key = str(raw).strip()
    if key in seen:
        raise CatalogError(f"{path}:{number}: id {key!r} already on line {seen[key]}")
    seen[key] = number
    return key


def _text(path: Path, number: int, value: Any, name: str) -> str:
    if not isinstance(value, str):
        raise CatalogError(f"{path}:{number}: '{name}' must be a string, not {type(value).__name__}")
    if not value.strip():
        raise CatalogError(f"{path}:{number}: '{name}' is empty")
    return value.strip()


def read_candidates(path: Path) -> dict[str, str]:
    """``{id: text}`` from JSONL lines ``{"id", "text"}``; missing/duplicate ids and empty texts refused."""
    seen: dict[str, int] = {}
    out: dict[str, str] = {}
    for number, row in jsonl_objects(path):
        key = _row_id(path, number, row, seen)
        out[key] = _text(path, number, row.get("text"), "text")
    return out


def read_references(path: Path) -> dict[str, list[str]]:
    """``{id: [texts]}`` from JSONL lines ``{"id", "text"}`` or ``{"id", "texts": [...]}``."""
    seen: dict[str, int] = {}
    out: dict[str, list[str]] = {}
    for number, row in jsonl_objects(path):
        key = _row_id(path, number, row, seen)
        if "texts" in row:
            texts = row["texts"]
            if not isinstance(texts, list) or not texts:
                raise CatalogError(f"{path}:{number}: 'texts' must be a non-empty list of strings")
            out[key] = [_text(path, number, t, "texts") for t in texts]
        elif "text" in row:
            out[key] = [_text(path, number, row["text"], "text")]
        else:
            raise CatalogError(f"{path}:{number}: no 'text' or 'texts'")
    return out


def read_catalog(path: Path) -> dict[str, dict[str, Any]]:
    """``{id: record}`` from a catalogue JSONL (``id``, optional ``title``, ``description``, ``lang``,
    ``attributes``); every record is checked by :meth:`ProductFacts.from_record`."""
    return {record["id"]: record for record, _ in catalog_records(path)}


# --- rules --------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class CopyRules:
    """Banned words and length limits (characters of the stripped text) for one language."""

    banned: tuple[str, ...] = ()
    min_chars: int | None = None
    max_chars: int | None = None


@dataclass(frozen=True, slots=True)
class RuleSet:
    """Rules for every language, and overrides per language (``zh``, ``en``)."""

    default: CopyRules = field(default_factory=CopyRules)
    by_lang: Mapping[str, CopyRules] = field(default_factory=dict)

    def for_lang(self, lang: str) -> CopyRules:
        """The rules of ``lang``: its section's settings over the top-level ones."""
        own = self.by_lang.get(lang)
        if own is None:
            return self.default
        return CopyRules(
            banned=tuple(dict.fromkeys(self.default.banned + own.banned)),
            min_chars=own.min_chars if own.min_chars is not None else self.default.min_chars,
            max_chars=own.max_chars if own.max_chars is not None else self.default.max_chars,
        )


_RULE_KEYS = {"banned", "min_chars", "max_chars"}


def _rules(data: Mapping[str, Any], where: str) -> CopyRules:
    banned = data.get("banned") or []
    if isinstance(banned, str) or not isinstance(banned, list) or not all(isinstance(b, str) for b in banned):
        raise ConfigError(f"{where}: 'banned' must be a list of strings")
    limits: dict[str, int | None] = {}
    for name in ("min_chars", "max_chars"):
        value = data.get(name)
        if value is not None and (isinstance(value, bool) or not isinstance(value, int) or value < 0):
            raise ConfigError(f"{where}: '{name}' must be a whole number >= 0, not {value!r}")
        limits[name] = value
    low, high = limits["min_chars"], limits["max_chars"]
    if low is not None and high is not None and low > high:
        raise ConfigError(f"{where}: min_chars {low} is above max_chars {high}")
    return CopyRules(tuple(b.strip() for b in banned if b.strip()), low, high)


def load_rules(source: Path | Mapping[str, Any]) -> RuleSet:
    """Rules from a YAML file (or its parsed mapping)::

    banned: [最好, best ever]      # any language
    min_chars: 20
    max_chars: 300
    zh: {max_chars: 120, banned: [第一]}   # per language, over the top-level settings
    """
    where = str(source) if isinstance(source, Path) else "rules"
    if isinstance(source, Path):
        import yaml

        try:
            data = yaml.safe_load(source.read_text(encoding="utf-8")) or {}
        except (OSError, yaml.YAMLError) as exc:
            raise ConfigError(f"{source}: cannot read the rules: {exc}") from exc
    else:
        data = source
    if not isinstance(data, Mapping):
        raise ConfigError(f"{where}: the rules must be a mapping")
    unknown = [k for k in data if k not in _RULE_KEYS and not isinstance(data[k], Mapping)]
    if unknown:
        raise ConfigError(f"{where}: unknown rule(s) {', '.join(map(str, unknown))}")
    by_lang = {str(k): _rules(v, f"{where}: {k}") for k, v in data.items() if isinstance(v, Mapping)}
    for lang, section in data.items():
        if isinstance(section, Mapping) and set(section) - _RULE_KEYS:
            raise ConfigError(f"{where}: {lang}: unknown rule(s) {', '.join(set(section) - _RULE_KEYS)}")
    return RuleSet(_rules({k: v for k, v in data.items() if k in _RULE_KEYS}, where), by_lang)


def rule_violations(text: str, rules: CopyRules) -> list[dict[str, Any]]:
    """The rules ``text`` breaks: banned words (case-insensitive; Latin words as whole words), length."""
    out: list[dict[str, Any]] = []
    folded = text.casefold()
    for word in rules.banned:
        target = word.casefold()
        if re.fullmatch(r"[\w\s'-]+", target, re.ASCII):
            hits = len(re.findall(rf"(?<!\w){re.escape(target)}(?!\w)", folded))
        else:
            hits = folded.count(target)
        if hits:
            out.append({"rule": "banned", "word": word, "count": hits})
    chars = len(text.strip())
    if rules.min_chars is not None and chars < rules.min_chars:
        out.append({"rule": "min_chars", "chars": chars, "limit": rules.min_chars})
    if rules.max_chars is not None and chars > rules.max_chars:
        out.append({"rule": "max_chars", "chars": chars, "limit": rules.max_chars})
    return out


# --- fact metrics -------------------------------------------------------------------------------


def _table(record: Mapping[str, Any]) -> list[tuple[str, list[str]]]:
    """The record's ``(key, value words)`` pairs, one per attribute value (PARENT's table)."""
    facts = ProductFacts.from_record(record)
    return [(f.key, words(f.value)) for f in facts.attributes() if words(f.value)]


def fact_metrics(
    text: str, record: Mapping[str, Any], lexicon: Any = None, references: list[list[str]] | None = None
) -> dict[str, Any]:
    """One candidate against its product record: claims, coverage, contradictions, PARENT.

    Coverage = ``len(check.stated()) / len(facts.key_facts())`` (None without key facts); PARENT
    needs the tokenised references (omitted without them).
    """
    from shopfuse.content.claims import check

    facts = ProductFacts.from_record(record)
    result = check(text, facts, lexicon)
    key_facts = facts.key_facts()
    out: dict[str, Any] = {
        "claims": len(result.claims),
        "supported": len(result.supported),
        "contradicted": len(result.contradicted),
        "unsupported": len(result.unsupported),
        "coverage": round(len(result.stated()) / len(key_facts), 4) if key_facts else None,
        "contradictions": [c.to_dict() for c in result.contradicted],
        "unsupported_claims": [c.to_dict() for c in result.unsupported],
    }
    if references is not None:
        p, r, f = parent(words(text), references, _table(record))
        out["parent"] = {"precision": round(p, 4), "recall": round(r, 4), "f": round(f, 4)}
    return out


def _lexicon(catalog: Mapping[str, Mapping[str, Any]]) -> Any:
    from shopfuse.content.claims import Lexicon

    return Lexicon.build(ProductFacts.from_record(r) for r in catalog.values())


# --- evaluation ---------------------------------------------------------------------------------


def _mean(values: Iterable[float | None]) -> float | None:
    kept = [v for v in values if v is not None]
    return round(fmean(kept), 4) if kept else None


def _guess_lang(texts: Iterable[str]) -> str:
    votes = Counter(language(t) for t in texts)
    return "zh" if votes["zh"] > votes["en"] else "en"


def evaluate_copy(
    candidates: Mapping[str, str],
    references: Mapping[str, list[str]],
    catalog: Mapping[str, Mapping[str, Any]] | None = None,
    *,
    lang: str | None = None,
    rules: RuleSet | CopyRules | None = None,
    lexicon: Any = None,
    per_item: bool = True,
) -> dict[str, Any]:
    """Score ``candidates`` (``{id: text}``) against ``references`` (``{id: [texts]}``).

    Only ids with both a candidate and a reference are scored; the others are listed
    (``candidates_without_reference``, ``references_without_candidate``), never fatal. ``lang``
    (``zh``/``en``) defaults to the majority language of the references. With ``catalog``
    (``{id: record}``) the fact metrics are added for scored ids that have a record (others listed
    under ``facts.missing_records``), claims found with ``lexicon`` (default: a
    :class:`~shopfuse.content.claims.Lexicon` built from the catalogue); with ``rules``, the
    violations per item and their count.
    """
    if lang is not None and lang not in ("zh", "en"):
        raise ConfigError(f"lang must be zh or en, not {lang!r}")
    ids = [i for i in candidates if i in references]
    if not ids:
        raise CatalogError("no candidate has a reference: the ids of the two files do not meet")
    lang = lang or _guess_lang(t for i in ids for t in references[i])
    hyps = [candidates[i] for i in ids]
    refs = [list(references[i]) for i in ids]
    hyp_words = [words(h) for h in hyps]
    ref_words = [[words(r) for r in rs] for rs in refs]
    items: list[dict[str, Any]] = [{"id": i} for i in ids]

    bleu = sacre_bleu(hyps, refs, lang)
    cider, cider_items = cider_d(hyp_words, ref_words)
    for item, hyp, hw, rw, rs, ci in zip(items, hyps, hyp_words, ref_words, refs, cider_items, strict=True):
        item["meteor"] = round(meteor(hw, rw), 4)
        item["rouge_l"] = round(rouge_l(hw, rw), 4)
        item["cider_d"] = round(ci, 4)
        item["chars"] = len(hyp.strip())
        item["words"] = len(hw)
        if lang == "zh":
            item["chatglm"] = chatglm_scores(hyp, rs)
    report: dict[str, Any] = {
        "lang": lang,
        "scored": len(ids),
        "candidates_without_reference": sorted(i for i in candidates if i not in references),
        "references_without_candidate": sorted(i for i in references if i not in candidates),
        "metrics": {
            "bleu4": round(bleu["score"], 4),
            "bleu_signature": bleu["signature"],
            "meteor": _mean(i["meteor"] for i in items),
            "rouge_l": _mean(i["rouge_l"] for i in items),
            "cider_d": round(cider, 4),
            "distinct_1": round(distinct_n(hyp_words, 1), 4),
            "distinct_2": round(distinct_n(hyp_words, 2), 4),
            "length": {
                "chars": _mean(i["chars"] for i in items),
                "words": _mean(i["words"] for i in items),
                "reference_chars": _mean(fmean(len(r.strip()) for r in rs) for rs in refs),
                "reference_words": _mean(fmean(len(r) for r in rw) for rw in ref_words),
            },
        },
    }
    if lang == "zh":
        report["chatglm"] = {
            **{k: _mean(i["chatglm"][k] for i in items) for k in ("bleu-4", "rouge-1", "rouge-2", "rouge-l")},
            "how": "ChatGLM-6B ptuning/main.py: rouge_chinese F over jieba words, nltk sentence_bleu "
            "over characters with SmoothingFunction().method3, x100, mean over examples",
            "published": CHATGLM_ADVERTISEGEN,
        }
    if catalog is not None:
        report["facts"] = _facts_report(ids, hyps, ref_words, items, catalog, lexicon)
    if rules is not None:
        own = rules.for_lang(lang) if isinstance(rules, RuleSet) else rules
        for item, hyp in zip(items, hyps, strict=True):
            item["violations"] = rule_violations(hyp, own)
        report["rules"] = {
            "violations": sum(len(i["violations"]) for i in items),
            "items_with_violations": sum(1 for i in items if i["violations"]),
            "by_rule": dict(Counter(v["rule"] for i in items for v in i["violations"])),
        }
    if per_item:
        report["items"] = items
    return report


def _facts_report(
    ids: list[str],
    hyps: list[str],
    ref_words: list[list[list[str]]],
    items: list[dict[str, Any]],
    catalog: Mapping[str, Mapping[str, Any]],
    lexicon: Any,
) -> dict[str, Any]:
    lexicon = lexicon if lexicon is not None else _lexicon(catalog)
    scored: list[dict[str, Any]] = []
    missing: list[str] = []
    for key, hyp, rw, item in zip(ids, hyps, ref_words, items, strict=True):
        record = catalog.get(key)
        if record is None:
            missing.append(key)
            continue
        item["facts"] = fact_metrics(hyp, record, lexicon, rw)
        scored.append(item["facts"])
    claims = sum(f["claims"] for f in scored)
    contradicted = sum(f["contradicted"] for f in scored)
    unsupported = sum(f["unsupported"] for f in scored)
    return {
        "items": len(scored),
        "missing_records": missing,
        "coverage": _mean(f["coverage"] for f in scored),
        "claims": claims,
        "contradictions": contradicted,
        "contradiction_rate": round(contradicted / claims, 4) if claims else 0.0,
        "items_with_contradiction": sum(1 for f in scored if f["contradicted"]),
        "unsupported": unsupported,
        "unsupported_rate": round(unsupported / claims, 4) if claims else 0.0,
        "parent": {k: _mean(f["parent"][k] for f in scored) for k in ("precision", "recall", "f")},
    }
