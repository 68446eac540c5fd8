"""Recommendation benchmark on the shared H&M purchases: every method and baseline, one time split.

The split (:mod:`hm.recommend`): each customer's last purchase day is their
test set; everything before is training (customers whose purchases all fall on one day have no
training history: they get what was popular then). The catalogue is every purchased article
with its photo; 1,570 also carry a title, description and attributes, the rest are photo-only.

Run::

    python benchmarks/recommend.py                          # raw photo features (no model)
    python benchmarks/recommend.py --model MODEL_DIR        # a trained shop model's fused vectors

Prints the table and writes ``benchmarks/results/recommend.json``; the split files go to
``--work`` (default: a folder under the system temp dir), so ``shopfuse eval recommend`` can
be run on the same files.
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

from _common import print_table, write_results
from hm.recommend import build_split

from shopfuse.workflows import evaluate_recommendations

SHARED = Path(__file__).resolve().parents[2] / "shared" / "data"


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--model", type=Path, default=None)
    parser.add_argument("--k", type=int, default=12)
    parser.add_argument("--work", type=Path, default=Path(tempfile.gettempdir()) / "shopfuse-recommend")
    parser.add_argument("--data", type=Path, default=SHARED)
    parser.add_argument("--name", default="recommend")
    args = parser.parse_args()
    items, train, test = build_split(args.data, args.work)
    store = args.work / ("store-" + (args.model.name if args.model else "raw"))
    result = evaluate_recommendations(args.model, items, train, test, k=args.k, store=store)
    result["model"] = str(args.model) if args.model else None
    result["command"] = (
        f"shopfuse eval recommend --items {items} --train {train} --test {test} --k {args.k}"
        + (f" --model {args.model}" if args.model else "")
    )
    k = args.k
    print_table(
        f"recommendations, k={k}, {result['test_users']} test users "
        f"({result['test_users_without_history']} without history), {result['items']} items",
        ["method", "Recall", "MAP", "nDCG", "HitRate", "coverage", "cold share"],
        [
            [
                name,
                m[f"recall@{k}"],
                m[f"map@{k}"],
                m[f"ndcg@{k}"],
                m[f"hit_rate@{k}"],
                m["coverage"],
                m["cold_share"],
            ]
            for name, m in result["methods"].items()
        ],
    )
    print("complete the look:", result["complete_the_look"])
    path = write_results(args.name, {"model": str(args.model) if args.model else None, "k": k}, result)
    print(f"written {path}")


if __name__ == "__main__":
    main()
