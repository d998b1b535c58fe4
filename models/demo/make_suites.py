"""Writes the held-out data of the demo suites (suites/data/demo-*), never seen in training.

    python3 models/demo/make_suites.py --out suites/data

Every item comes from the held-out side of data.py's rules (is_heldout_*), which the training
generator skips, and from a seed of its own.
"""

import argparse
import json
import os
import random
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from data import TASKS, story  # noqa: E402

SEED = 20240611
TASKS_PER_KIND = 30
SUMMARY_ITEMS = 40
PERPLEXITY_STORIES = 40


def unique(make, rng: random.Random, n: int) -> list[tuple[str, str]]:
    """n distinct items: a repeated question would count twice in the score."""
    seen: dict[str, str] = {}
    while len(seen) < n:
        q, a = make(rng, True)
        seen.setdefault(q, a)
    return list(seen.items())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--out", default="suites/data")
    args = parser.parse_args()
    rng = random.Random(SEED)

    with open(os.path.join(args.out, "demo-tasks.jsonl"), "w") as f:
        for kind, make in TASKS.items():
            for i, (question, answer) in enumerate(unique(make, rng, TASKS_PER_KIND), 1):
                item = {"id": f"{kind}-{i:02d}", "kind": kind, "question": question, "answer": answer}
                f.write(json.dumps(item) + "\n")

    stories = unique(story, rng, SUMMARY_ITEMS + PERPLEXITY_STORIES)
    with open(os.path.join(args.out, "demo-stories.jsonl"), "w") as f:
        for i, (text, summary) in enumerate(stories[:SUMMARY_ITEMS], 1):
            f.write(json.dumps({"id": f"summary-{i:02d}", "story": text, "summary": summary}) + "\n")

    # One story a line, as training saw them; distinct from the summary items' stories.
    with open(os.path.join(args.out, "demo-heldout.txt"), "w") as f:
        f.write("\n".join(text for text, _ in stories[SUMMARY_ITEMS:]) + "\n")


if __name__ == "__main__":
    main()
