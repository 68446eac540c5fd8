"""Text metrics for marketing copy against reference copy: pure functions over token lists or strings.

- :func:`sacre_bleu`: corpus BLEU-4 with sacrebleu (``zh`` tokeniser for Chinese, ``13a`` otherwise), 0-100.
- :func:`chatglm_scores`: the AdvertiseGen figures exactly as the ChatGLM-6B P-tuning v2 ``main.py``
  computes them (ROUGE-1/2/L F over jieba words with ``rouge_chinese``; character BLEU-4 with nltk's
  ``sentence_bleu`` and ``SmoothingFunction().method3``; each x100, rounded to 4 places, mean of examples).
- :func:`meteor`: METEOR (Banerjee & Lavie 2005) as nltk computes it, exact and Porter-stem matching only.
- :func:`rouge_l`: ROUGE-L F1 over words (longest common subsequence).
- :func:`cider_d`: CIDEr-D (Vedantam et al. 2015) as pycocoevalcap computes it.
- :func:`distinct_n`: distinct n-grams over all n-grams of all candidates (diversity across products).
- :func:`parent`: PARENT precision/recall/F (Dhingra et al. 2019), word-overlap entailment version.

Token lists come from :func:`shopfuse.content.text.words` (case-folded words, Chinese segmented with jieba)
unless a function says otherwise.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from itertools import pairwise
from typing import Any

from shopfuse.optional import require

__all__ = [
    "chatglm_scores",
    "cider_d",
    "distinct_n",
    "lcs_length",
    "meteor",
    "ngrams",
    "parent",
    "rouge_l",
    "sacre_bleu",
]

Tokens = Sequence[str]


def ngrams(tokens: Tokens, n: int) -> Counter[tuple[str, ...]]:
    """Counts of the ``n``-grams of ``tokens``."""
    return Counter(tuple(tokens[i : i + n]) for i in range(len(tokens) - n + 1))


def lcs_length(a: Sequence[Any], b: Sequence[Any]) -> int:
    """Length of the longest common subsequence of ``a`` and ``b``."""
    if not a or not b:
        return 0
    previous = [0] * (len(b) + 1)
    for x in a:
        current = [0]
        for j, y in enumerate(b, 1):
            current.append(previous[j - 1] + 1 if x == y else max(previous[j], current[j - 1]))
        previous = current
    return previous[-1]


# --- BLEU ---------------------------------------------------------------------------------------


def sacre_bleu(candidates: Sequence[str], references: Sequence[Sequence[str]], lang: str) -> dict[str, Any]:
    """Corpus BLEU-4 with sacrebleu: ``{"score" (0-100), "signature", "precisions", "bp"}``.

    ``references[i]`` are the references of ``candidates[i]`` (any number each). Chinese uses sacrebleu's
    ``zh`` tokeniser (each CJK character a token, other text as 13a), other languages ``13a``.
    """
    sacrebleu = require("sacrebleu", "sacrebleu", "eval", "BLEU of copy")
    width = max((len(refs) for refs in references), default=0)
    streams = [[refs[k] if k < len(refs) else None for refs in references] for k in range(width)]
    bleu = sacrebleu.metrics.BLEU(tokenize="zh" if lang == "zh" else "13a")
    result = bleu.corpus_score(list(candidates), streams)
    return {
        "score": float(result.score),
        "precisions": [round(float(p), 4) for p in result.precisions],
        "bp": round(float(result.bp), 4),
        "signature": str(bleu.get_signature()),
    }


# --- ChatGLM / AdvertiseGen style ------------------------------------------------------------------


def chatglm_scores(candidate: str, references: Sequence[str]) -> dict[str, float]:
    """ROUGE-1/2/L and BLEU-4 of one example, exactly as ChatGLM-6B ``ptuning/main.py`` scores it.

    The script does, per example: ``hypothesis = list(jieba.cut(pred))``, ``reference =
    list(jieba.cut(label))``, ``Rouge().get_scores(' '.join(hypothesis), ' '.join(reference))`` (the
    ``rouge_chinese`` package) taking each ``f * 100`` rounded to 4 places, and
    ``sentence_bleu([list(label)], list(pred), smoothing_function=SmoothingFunction().method3) * 100``
    (nltk, characters as tokens) rounded to 4 places; the corpus figure is the mean over examples.
    Two extensions the script does not need: with several references BLEU takes them all (nltk's
    multi-reference BLEU) and each ROUGE takes the best reference; an empty candidate scores 0 (the
    script would raise).
    """
    jieba = require("jieba", "jieba", "eval", "Chinese word segmentation")
    rouge_chinese = require("rouge_chinese", "rouge-chinese", "eval", "ROUGE as published for AdvertiseGen")
    bleu_score = require("nltk.translate.bleu_score", "nltk", "eval", "BLEU as published for AdvertiseGen")
    out = {"rouge-1": 0.0, "rouge-2": 0.0, "rouge-l": 0.0, "bleu-4": 0.0}
    refs = [r for r in references if r.strip()]
    if not candidate.strip() or not refs:
        return out
    hypothesis = " ".join(jieba.cut(candidate))
    rouge = rouge_chinese.Rouge()
    for ref in refs:
        try:
            scores = rouge.get_scores(hypothesis, " ".join(jieba.cut(ref)))[0]
        except ValueError:  # only blanks after segmentation
            continue
        for key in ("rouge-1", "rouge-2", "rouge-l"):
            out[key] = max(out[key], round(scores[key]["f"] * 100, 4))
    smoothing = bleu_score.SmoothingFunction().method3
    bleu = bleu_score.sentence_bleu([list(r) for r in refs], list(candidate), smoothing_function=smoothing)
    out["bleu-4"] = round(float(bleu) * 100, 4)
    return out


# --- METEOR -------------------------------------------------------------------------------------


def _match(hyp: list[tuple[int, str]], ref: list[tuple[int, str]]) -> list[tuple[int, int]]:
    """nltk's ``_match_enums``: from the last hypothesis word back, pair it with the last equal reference
    word still free; matched words leave both lists (in place)."""
    pairs: list[tuple[int, int]] = []
    for i in range(len(hyp) - 1, -1, -1):
        for j in range(len(ref) - 1, -1, -1):
            if hyp[i][1] == ref[j][1]:
                pairs.append((hyp[i][0], ref[j][0]))
                hyp.pop(i)
                ref.pop(j)
                break
    return pairs


def _chunks(matches: list[tuple[int, int]]) -> int:
    """Runs of matches adjacent in both the hypothesis and the reference."""
    chunks = 1
    for (i, j), (k, m) in pairwise(matches):
        if not (k == i + 1 and m == j + 1):
            chunks += 1
    return chunks


def _stemmer() -> Callable[[str], str]:
    stem = require("nltk.stem.porter", "nltk", "eval", "METEOR stem matching")
    stemmer: Callable[[str], str] = stem.PorterStemmer().stem
    return stemmer


def meteor_single(
    hypothesis: Tokens,
    reference: Tokens,
    *,
    stem: Callable[[str], str] | None = None,
    alpha: float = 0.9,
    beta: float = 3.0,
    gamma: float = 0.5,
) -> float:
    """METEOR of one hypothesis against one reference (both token lists)."""
    if not hypothesis or not reference:
        return 0.0
    stem = stem or _stemmer()
    hyp = list(enumerate(hypothesis))
    ref = list(enumerate(reference))
    matches = _match(hyp, ref)
    matches += _match([(i, stem(w)) for i, w in hyp], [(j, stem(w)) for j, w in ref])
    matches.sort(key=lambda pair: pair[0])
    if not matches:
        return 0.0
    precision = len(matches) / len(hypothesis)
    recall = len(matches) / len(reference)
    fmean = precision * recall / (alpha * precision + (1 - alpha) * recall)
    penalty = gamma * (_chunks(matches) / len(matches)) ** beta
    return (1 - penalty) * fmean


def meteor(hypothesis: Tokens, references: Sequence[Tokens], **params: Any) -> float:
    """METEOR (Banerjee & Lavie 2005) the way nltk's ``meteor_score`` computes it, best reference.

    Matching modules: exact words, then Porter stems (nltk's ``PorterStemmer``, needs no data) of the
    words still unmatched; no WordNet synonyms (their corpus would download at run time). Alignment
    as nltk (greedy from the end); ``Fmean = P*R / (alpha*P + (1-alpha)*R)``, fragmentation penalty
    ``gamma * (chunks/matches)**beta``, alpha=0.9, beta=3, gamma=0.5. Chinese tokens are jieba words,
    whose stems are themselves.
    """
    stem = params.pop("stem", None) or _stemmer()
    return max((meteor_single(hypothesis, ref, stem=stem, **params) for ref in references), default=0.0)


# --- ROUGE-L ------------------------------------------------------------------------------------


def rouge_l(hypothesis: Tokens, references: Sequence[Tokens]) -> float:
    """ROUGE-L F1 (LCS precision and recall, beta = 1) over tokens, best reference; 0 when either is empty."""
    best = 0.0
    for ref in references:
        lcs = lcs_length(hypothesis, ref)
        if lcs:
            p, r = lcs / len(hypothesis), lcs / len(ref)
            best = max(best, 2 * p * r / (p + r))
    return best


# --- CIDEr-D ------------------------------------------------------------------------------------


def _cider_vec(
    counts: Counter[tuple[str, ...]], df: Counter[tuple[str, ...]], log_docs: float, n: int
) -> tuple[list[dict[tuple[str, ...], float]], list[float], int]:
    vec: list[dict[tuple[str, ...], float]] = [{} for _ in range(n)]
    norm = [0.0] * n
    length = 0
    for gram, tf in counts.items():
        k = len(gram) - 1
        vec[k][gram] = float(tf) * (log_docs - math.log(max(1.0, float(df[gram]))))
        norm[k] += vec[k][gram] ** 2
        if k == 1:  # pycocoevalcap counts the bigrams as the length
            length += tf
    return vec, [math.sqrt(x) for x in norm], length


def cider_d(
    hypotheses: Sequence[Tokens], references: Sequence[Sequence[Tokens]], *, n: int = 4, sigma: float = 6.0
) -> tuple[float, list[float]]:
    """CIDEr-D (Vedantam et al. 2015) as pycocoevalcap's ``CiderD`` computes it: ``(corpus, per item)``.

    TF-IDF vectors of the 1..4-grams, document frequencies over the reference sets of this corpus
    (one document per item), clipped cosine (``min(hyp, ref) * ref``) per n, times a Gaussian penalty
    on the length difference (sigma 6; pycocoevalcap's length is the bigram count), averaged over n
    and references, times 10. With a single item every IDF is 0 and so is the score.
    """
    if len(hypotheses) != len(references):
        raise ValueError("one reference set per hypothesis")
    ref_counts = [[_ngram_range(r, n) for r in refs] for refs in references]
    df: Counter[tuple[str, ...]] = Counter()
    for refs in ref_counts:
        df.update({gram for counts in refs for gram in counts})
    log_docs = math.log(float(len(references))) if references else 0.0
    scores: list[float] = []
    for hyp, refs in zip(hypotheses, ref_counts, strict=True):
        vec, norm, length = _cider_vec(_ngram_range(hyp, n), df, log_docs, n)
        total = [0.0] * n
        for counts in refs:
            rvec, rnorm, rlength = _cider_vec(counts, df, log_docs, n)
            delta = float(length - rlength)
            for k in range(n):
                val = sum(min(w, rvec[k].get(g, 0.0)) * rvec[k].get(g, 0.0) for g, w in vec[k].items())
                if norm[k] != 0 and rnorm[k] != 0:
                    val /= norm[k] * rnorm[k]
                total[k] += val * math.exp(-(delta**2) / (2 * sigma**2))
        scores.append(sum(total) / n / max(len(refs), 1) * 10.0)
    return (sum(scores) / len(scores) if scores else 0.0), scores


def _ngram_range(tokens: Tokens, n: int) -> Counter[tuple[str, ...]]:
    out: Counter[tuple[str, ...]] = Counter()
    for k in range(1, n + 1):
        out.update(ngrams(tokens, k))
    return out


# --- distinct-n ---------------------------------------------------------------------------------


def distinct_n(candidates: Iterable[Tokens], n: int) -> float:
    """Distinct ``n``-grams over all ``n``-grams of all candidates together (0 when there are none)."""
    total: Counter[tuple[str, ...]] = Counter()
    for tokens in candidates:
        total.update(ngrams(tokens, n))
    count = sum(total.values())
    return len(total) / count if count else 0.0


# --- PARENT -------------------------------------------------------------------------------------


def _entailed(gram: tuple[str, ...], table_words: set[str]) -> float:
    """Word-overlap entailment: the share of the n-gram's words found among the table's value words."""
    return sum(1 for w in gram if w in table_words) / len(gram)


def parent_single(
    hypothesis: Tokens,
    reference: Tokens,
    table: Sequence[tuple[str, Tokens]],
    *,
    max_order: int = 4,
    lambda_weight: float = 0.5,
    smoothing: float = 1e-5,
) -> tuple[float, float, float]:
    """PARENT ``(precision, recall, F)`` of one hypothesis against one reference and its table.

    Following the authors' reference implementation (``parent.py``, word-overlap entailment):

    - entailment ``w(g)`` of an n-gram = share of its words among the table's value words;
    - entailed precision of order n = ``sum_g c(g) * (p + (1 - p) * w(g)) / sum_g c(g)`` over the
      hypothesis n-grams, with ``p = min(1, c_ref(g) / c(g))``; 0 when there are none;
    - entailed reference recall of order n = ``sum_g c(g) w(g) q / sum_g c(g) w(g)`` over the reference
      n-grams, ``q = min(1, c_hyp(g) / c(g))``; 1 when the denominator is 0;
    - orders 2..4 at 0 become ``smoothing``; precision and reference recall are geometric means over
      the orders (0 if any order is 0);
    - table recall = mean over records of ``LCS(value, hypothesis) / len(value)`` (``smoothing`` if 0);
    - recall = ``ref_recall**(1 - lambda) * table_recall**lambda`` (table recall alone when the
      reference recall is 0); ``F = 2PR / (P + R + 1e-8)``.
    """
    table_words = {w for _, value in table for w in value}
    precisions: list[float] = []
    recalls: list[float] = []
    for order in range(1, max_order + 1):
        hyp_counts, ref_counts = ngrams(hypothesis, order), ngrams(reference, order)
        num = den = 0.0
        for gram, count in hyp_counts.items():
            in_ref = min(1.0, ref_counts.get(gram, 0) / count)
            den += count
            num += count * (in_ref + (1.0 - in_ref) * _entailed(gram, table_words))
        precisions.append(num / den if den else 0.0)
        num = den = 0.0
        for gram, count in ref_counts.items():
            in_hyp = min(1.0, hyp_counts.get(gram, 0) / count)
            weight = _entailed(gram, table_words)
            den += count * weight
            num += count * weight * in_hyp
        recalls.append(num / den if den else 1.0)
    for k in range(1, max_order):
        precisions[k] = precisions[k] or smoothing
        recalls[k] = recalls[k] or smoothing
    precision = _geometric(precisions)
    ref_recall = _geometric(recalls)
    values = [value for _, value in table if value]
    table_recall = sum(lcs_length(v, hypothesis) / len(v) for v in values) / len(values) if values else 0.0
    table_recall = table_recall or smoothing
    if ref_recall == 0.0:
        recall = table_recall
    else:
        recall = math.exp((1 - lambda_weight) * math.log(ref_recall) + lambda_weight * math.log(table_recall))
    f = 2 * precision * recall / (precision + recall + 1e-8)
    return precision, recall, f


def _geometric(values: Sequence[float]) -> float:
    if any(v == 0.0 for v in values):
        return 0.0
    return math.exp(math.fsum(math.log(v) / len(values) for v in values))


def parent(
    hypothesis: Tokens, references: Sequence[Tokens], table: Sequence[tuple[str, Tokens]], **params: Any
) -> tuple[float, float, float]:
    """PARENT against several references: the figures of the reference with the best F."""
    results = [parent_single(hypothesis, ref, table, **params) for ref in references]
    return max(results, key=lambda r: r[2]) if results else (0.0, 0.0, 0.0)
