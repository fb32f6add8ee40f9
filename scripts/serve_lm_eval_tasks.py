"""Writes two lm-evaluation-harness tasks made from Persuasion into DIR, for `lm_eval --include_path DIR`
(README "Serving"; tests/serve/test_lm_eval.py):
  austen_next  multiple choice: the true next sentence of a three-sentence passage among four (the
               other three drawn, seeded, from elsewhere in the book), 40 questions; chance 0.25.
  austen_ppl   loglikelihood_rolling over the book's first 6000 characters (also written as
               austen_ppl.txt, for `stretch ppl --score rolling`).
usage: python scripts/serve_lm_eval_tasks.py DIR [DATA_DIR]   (default: ../shared/data, else $STRETCH_DATA)"""
import json
import os
import pathlib
import random
import re
import sys


def make_tasks(root, data):
    book = (data / "austen-persuasion.txt").read_text(encoding="utf-8")
    body = book[book.index("Chapter 1"):]
    sentences = [re.sub(r"\s+", " ", s).strip() for s in re.split(r"(?<=[.!?])\s+", body)]
    sentences = [s for s in sentences if 40 <= len(s) <= 200]
    rng = random.Random(15)
    docs = []
    for i in range(40):
        at = 30 + 45 * i
        context = " ".join(sentences[at:at + 3])
        choices = [sentences[at + 3]] + rng.sample(sentences[:at] + sentences[at + 10:], 3)
        rng.shuffle(choices)
        docs.append({"context": context, "choices": choices, "label": choices.index(sentences[at + 3])})
    (root / "austen_next.jsonl").write_text("".join(json.dumps(d) + "\n" for d in docs), encoding="utf-8")
    excerpt = body[:6000]
    (root / "austen_ppl.txt").write_text(excerpt, encoding="utf-8")
    (root / "austen_ppl.jsonl").write_text(json.dumps({"text": excerpt}) + "\n", encoding="utf-8")
    common = "dataset_path: json\ntest_split: test\n"
    (root / "austen_next.yaml").write_text(
        "task: austen_next\n" + common +
        f"dataset_kwargs:\n  data_files:\n    test: {root / 'austen_next.jsonl'}\n"
        "output_type: multiple_choice\ndoc_to_text: \"{{context}}\"\ndoc_to_choice: \"{{choices}}\"\n"
        "doc_to_target: label\ntarget_delimiter: \" \"\n"
        "metric_list:\n  - metric: acc\n  - metric: acc_norm\n", encoding="utf-8")
    (root / "austen_ppl.yaml").write_text(
        "task: austen_ppl\n" + common +
        f"dataset_kwargs:\n  data_files:\n    test: {root / 'austen_ppl.jsonl'}\n"
        "output_type: loglikelihood_rolling\ndoc_to_text: \"\"\ndoc_to_target: \"{{text}}\"\n"
        "metric_list:\n  - metric: word_perplexity\n  - metric: byte_perplexity\n  - metric: bits_per_byte\n",
        encoding="utf-8")
    return root / "austen_ppl.txt"



if __name__ == "__main__":
    here = pathlib.Path(__file__).resolve().parent
    default = os.environ.get("STRETCH_DATA", str(here.parent.parent / "shared" / "data"))
    out = pathlib.Path(sys.argv[1])
    out.mkdir(parents=True, exist_ok=True)
    print(make_tasks(out, pathlib.Path(sys.argv[2] if len(sys.argv) > 2 else default)))
