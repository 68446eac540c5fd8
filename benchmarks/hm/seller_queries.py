"""Chinese "<colour><type>" queries worded by sellers, judged against the H&M items.

The Chinese queries of :mod:`hm.protocols` come from a translation table that
the query glossary (:mod:`shopfuse.query.glossary`) largely repeats, so they measure the system
against its own dictionary. These come from another source: the attribute values Taobao sellers
wrote in ``product-copy-zh/pairs.jsonl`` (``颜色#白色*衣样式#衬衫`` -> ``白色衬衫``). Every colour x
type pair that co-occurs in one seller record is a candidate query, ranked by how many records
name it; its relevant items are the H&M items that the judgement table below accepts for both
words. The judgement table is written against the catalogue's own columns; a seller word the
catalogue cannot judge (a cut, a length, a pattern posing as a colour) is listed with the reason.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

__all__ = [
    "COLOUR_KEYS",
    "JUDGEMENTS",
    "TYPE_KEYS",
    "UNJUDGED",
    "SellerQueries",
    "glossary_coverage",
    "seller_queries",
]

COLOUR_KEYS = ("颜色",)
TYPE_KEYS = ("类型", "衣样式", "裙长", "裙型", "裤长", "裤型")
"""Seller attributes that name a garment: the broad kind and the narrower ones under it."""

_TYPE = "product_type_name"
_COLOUR = "colour_group_name"
_UPPER = (
    "Blazer", "Blouse", "Bodysuit", "Cardigan", "Coat", "Hoodie", "Jacket", "Polo shirt", "Shirt",
    "Sweater", "T-shirt", "Top", "Vest top",
)  # fmt: skip
"""H&M's "Garment Upper body" product types: what a seller's 上衣 covers (coats and jackets too)."""

JUDGEMENTS: dict[str, dict[str, tuple[str, ...]]] = {
    # colours: a plain colour word -> the H&M colour group of that name; shade words -> that shade
    "黑色": {_COLOUR: ("Black",)},
    "白色": {_COLOUR: ("White",)},
    "米白色": {_COLOUR: ("Off White",)},
    "红色": {_COLOUR: ("Red",)},
    "粉色": {_COLOUR: ("Pink",)},
    "绿色": {_COLOUR: ("Green",)},
    "墨绿色": {_COLOUR: ("Dark Green",)},
    "军绿色": {_COLOUR: ("Greenish Khaki",)},
    "灰色": {_COLOUR: ("Grey",)},
    "蓝色": {_COLOUR: ("Blue",)},
    "宝蓝色": {_COLOUR: ("Blue",)},  # royal blue: a saturated mid blue
    "浅蓝色": {_COLOUR: ("Light Blue",)},
    "深蓝色": {_COLOUR: ("Dark Blue",)},
    "藏蓝色": {_COLOUR: ("Dark Blue",)},  # navy
    "黄色": {_COLOUR: ("Yellow",)},
    "姜黄色": {_COLOUR: ("Dark Yellow",)},  # turmeric
    "紫色": {_COLOUR: ("Purple",)},
    "金色": {_COLOUR: ("Gold",)},
    "卡其色": {_COLOUR: ("Beige", "Dark Beige")},  # khaki in Chinese retail is a sand beige
    "驼色": {_COLOUR: ("Dark Beige", "Yellowish Brown")},  # camel
    "焦糖色": {_COLOUR: ("Yellowish Brown",)},  # caramel
    "杏色": {_COLOUR: ("Light Beige", "Light Orange")},  # apricot
    "裸色": {_COLOUR: ("Light Beige",)},  # nude
    "肉色": {_COLOUR: ("Light Beige",)},  # flesh
    # types: the broad kinds
    "上衣": {_TYPE: _UPPER},
    "裙": {_TYPE: ("Dress", "Skirt")},
    "裤": {_TYPE: ("Trousers", "Shorts", "Leggings/Tights")},
    # types: the narrower kinds
    "衬衫": {_TYPE: ("Shirt", "Blouse")},
    "雪纺衫": {_TYPE: ("Blouse",)},
    "外套": {_TYPE: ("Jacket", "Coat", "Blazer")},
    "风衣": {_TYPE: ("Coat",)},
    "冲锋衣": {_TYPE: ("Jacket",)},
    "棒球服": {_TYPE: ("Jacket",)},
    "西装": {_TYPE: ("Blazer",)},
    "卫衣": {_TYPE: ("Hoodie",)},  # H&M files crew-neck sweatshirts under Sweater with knitwear
    "开衫": {_TYPE: ("Cardigan",)},
    "毛衣": {_TYPE: ("Sweater",)},
    "针织衫": {_TYPE: ("Sweater", "Cardigan")},
    "polo": {_TYPE: ("Polo shirt",)},
    "打底衫": {_TYPE: ("T-shirt", "Top")},
    "连衣裙": {_TYPE: ("Dress",)},
    "半身裙": {_TYPE: ("Skirt",)},
    "长裙": {_TYPE: ("Dress", "Skirt")},
    "短裙": {_TYPE: ("Skirt",)},
    "牛仔裙": {_TYPE: ("Dress", "Skirt"), "graphical_appearance_name": ("Denim",)},
    "短裤": {_TYPE: ("Shorts",)},
    "长裤": {_TYPE: ("Trousers",)},
    "连体裤": {_TYPE: ("Jumpsuit/Playsuit",)},
}  # fmt: skip
"""Seller word -> ``{H&M column: accepted values}``; an item is relevant when every column agrees."""

UNJUDGED = {
    "纯色": "solid: a pattern, not a colour",
    "黑白": "two colours; H&M records one colour group",
    "深色": "only lightness (any dark colour)",
    "浅色": "only lightness (any light colour)",
    "迷彩色": "camouflage: a pattern",
    "衫": "any upper-body garment made of cloth; too broad to tell from 上衣",
    "马甲": "waistcoat: H&M has no such product type",
    "a字": "a cut (A-line); the catalogue does not record cuts",
    "百褶": "a cut (pleated)",
    "大裙摆": "a cut (full hem)",
    "鱼尾裙": "a cut (mermaid)",
    "直筒裙": "a cut (straight)",
    "包臀裙": "a cut (pencil)",
    "背带裙": "a cut (pinafore)",
    "蛋糕": "a cut (tiered)",
    "一步裙": "a cut (pencil)",
    "衬衫裙": "a cut (shirt dress)",
    "蓬蓬裙": "a cut (puffball)",
    "花苞裙": "a cut (tulip)",
    "小黑裙": "a little black dress: names its own colour",
    "抹胸裙": "a cut (strapless)",
    "网纱裙": "a fabric (tulle)",
    "仙女裙": "a style",
    "九分裤": "a length (ankle); the catalogue does not record lengths",
    "七分裤": "a length (cropped)",
    "八分裤": "a length (cropped)",
    "五分裤": "a length (knee)",
    "阔腿裤": "a cut (wide leg)",
    "直筒裤": "a cut (straight leg)",
    "哈伦裤": "a cut (harem)",
    "背带裤": "dungarees: H&M files them under several types",
    "连衣裤": "a cut (jumpsuit dress)",
    "灯笼裤": "a cut (balloon)",
}
"""Seller words that occur in the data but that the catalogue's columns cannot judge, and why."""


@dataclass(slots=True)
class SellerQueries:
    """The built queries: ``{qid: text}``, ``{qid: [relevant ids]}``, and where each came from."""

    queries: dict[str, str] = field(default_factory=dict)
    qrels: dict[str, list[str]] = field(default_factory=dict)
    words: dict[str, tuple[str, str]] = field(default_factory=dict)
    """``{qid: (colour word, type word)}``: the seller's two values the query is made of."""
    records: dict[str, int] = field(default_factory=dict)
    """``{qid: seller records naming both words}``: the pair's real frequency."""
    unjudged: dict[str, int] = field(default_factory=dict)
    """Seller words skipped because the catalogue cannot judge them, with their record counts."""
    too_few: int = 0
    """Judged pairs dropped for having fewer than ``min_items`` relevant items."""


def _records(pairs_jsonl: Path) -> list[dict[str, list[str]]]:
    """Each seller record's attributes, ``{key: [values]}`` (a key may repeat)."""
    out = []
    for line in pairs_jsonl.read_text(encoding="utf-8").splitlines():
        if not line.strip():
            continue
        attributes: dict[str, list[str]] = {}
        for part in json.loads(line)["content"].split("*"):
            key, _, value = part.partition("#")
            if value.strip():
                attributes.setdefault(key.strip(), []).append(value.strip())
        out.append(attributes)
    return out


def _accepts(judgement: Mapping[str, Sequence[str]], item: Mapping[str, str]) -> bool:
    return all((item.get(column) or "") in values for column, values in judgement.items())


def seller_queries(
    pairs_jsonl: Path,
    items: Sequence[Mapping[str, str]],
    *,
    min_items: int = 3,
    max_queries: int | None = None,
) -> SellerQueries:
    """Queries from the colour x type pairs sellers wrote, most frequent first, judged on ``items``.

    ``items`` are the searched H&M rows (``article_id`` and the columns the judgements name). A pair
    becomes a query when both words are judged and at least ``min_items`` items are relevant.
    """
    counts: Counter[tuple[str, str]] = Counter()
    unjudged: Counter[str] = Counter()
    for record in _records(pairs_jsonl):
        colours = [v for key in COLOUR_KEYS for v in record.get(key, [])]
        kinds = [v for key in TYPE_KEYS for v in record.get(key, [])]
        unjudged.update(w for w in dict.fromkeys(colours + kinds) if w not in JUDGEMENTS)
        for pair in {(c, k) for c in colours for k in kinds}:
            counts[pair] += 1
    built = SellerQueries(unjudged=dict(sorted(unjudged.items(), key=lambda kv: (-kv[1], kv[0]))))
    for (colour, kind), n in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0])):
        if colour not in JUDGEMENTS or kind not in JUDGEMENTS:
            continue
        both = {**JUDGEMENTS[colour], **JUDGEMENTS[kind]}
        relevant = [str(item["article_id"]) for item in items if _accepts(both, item)]
        if len(relevant) < min_items:
            built.too_few += 1
            continue
        if max_queries is not None and len(built.queries) >= max_queries:
            break
        qid = f"zs{len(built.queries):03d}"
        built.queries[qid] = f"{colour}{kind}"
        built.qrels[qid] = relevant
        built.words[qid] = (colour, kind)
        built.records[qid] = n
    return built


def glossary_coverage(queries: Iterable[Sequence[str]], glossary_words: Iterable[str]) -> dict[str, float]:
    """How much of a query set the glossary already knows; each query is given as its words.

    ``words``: share of word occurrences that are glossary words (exact, case-insensitive);
    ``distinct_words``: the same over distinct words; ``queries``: share of queries made only
    of glossary words.
    """
    known = {w.casefold() for w in glossary_words}
    queries = [list(words) for words in queries]
    occurrences = [w.casefold() in known for words in queries for w in words]
    distinct = {w.casefold() for words in queries for w in words}
    return {
        "queries_n": len(queries),
        "words": round(sum(occurrences) / max(len(occurrences), 1), 4),
        "distinct_words": round(len(distinct & known) / max(len(distinct), 1), 4),
        "queries": round(
            sum(all(w.casefold() in known for w in words) for words in queries) / max(len(queries), 1), 4
        ),
    }
