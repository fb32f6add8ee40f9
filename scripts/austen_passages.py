#!/usr/bin/env python3
"""The Austen classification task of `stretch finetune --task classify` (docs/finetune.md): which of
the six novels a passage comes from. Each novel (../shared/data/austen-*.txt) loses its title page
(and Northanger Abbey its preface and closing editor's note) and its VOLUME / CHAPTER / FINIS heading
lines (they would name the book or mark its structure, whose numbering differs by book), its words
are joined by single spaces, and it is cut into consecutive passages of WORDS words. The first
80 % of each novel's passages are training passages, the last 20 % test passages: the test text
comes from later in each book than anything trained on. Labels are the novels' short names.

A passage of WORDS words is at least WORDS tokens under a byte-level vocabulary and under GPT-2-style
BPE (every word is one token or more), so with `--context WORDS` stretch cuts every passage to exactly
WORDS tokens: the stated passage length, in the model's own tokens.

usage: python3 scripts/austen_passages.py --out DIR [--words 128] [--data ../shared/data]
                                          [--max-train N] [--max-test N] [--novels a,b]
--max-train / --max-test keep N passages per novel, evenly spaced over that novel's split (for runs
that cannot afford all of them); --novels keeps only the named novels (e.g. `emma,persuasion` for a
binary task). Writes DIR/train.jsonl and DIR/test.jsonl, and prints the counts and
the test accuracy of always answering the largest class. Standard library only.
"""
import argparse
import json
import os
import re

NOVELS = ["emma", "mansfieldpark", "northangerabbey", "persuasion", "prideprejudice", "sensesensibility"]
HEADING = re.compile(r"^\s*(VOLUME|CHAPTER)\s+[IVXLC0-9]+\.?\s*$|^\s*(FINIS|THE END)\s*$", re.IGNORECASE)


def words_of(text):
    """The novel's words from its first chapter heading on, heading lines dropped, and an editor's
    note at the end (Northanger Abbey's "A NOTE ON THE TEXT") cut off."""
    lines = text.split("\n")
    first_chapter = next(i for i, line in enumerate(lines) if re.match(r"^\s*chapter\b", line, re.IGNORECASE))
    lines = lines[first_chapter:]
    note = next((i for i, line in enumerate(lines) if line.strip() == "A NOTE ON THE TEXT"), len(lines))
    kept = [line for line in lines[:note] if not HEADING.match(line)]
    return " ".join(kept).split()


def evenly(items, n):
    if n is None or n >= len(items):
        return items
    return [items[i * len(items) // n] for i in range(n)]


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    p = argparse.ArgumentParser()
    p.add_argument("--out", required=True)
    p.add_argument("--words", type=int, default=128)
    p.add_argument("--data", default=os.path.join(here, "..", "..", "shared", "data"))
    p.add_argument("--max-train", type=int)
    p.add_argument("--max-test", type=int)
    p.add_argument("--novels", default=",".join(NOVELS), help="comma-separated, of: " + ", ".join(NOVELS))
    a = p.parse_args()
    novels = a.novels.split(",")
    for novel in novels:
        if novel not in NOVELS:
            p.error(f"--novels: found '{novel}', expected some of {', '.join(NOVELS)}")
    os.makedirs(a.out, exist_ok=True)
    train, test = [], []
    for novel in novels:
        with open(os.path.join(a.data, f"austen-{novel}.txt"), encoding="utf-8") as f:
            words = words_of(f.read())
        passages = [" ".join(words[i:i + a.words]) for i in range(0, len(words) - a.words + 1, a.words)]
        cut = len(passages) * 8 // 10
        train += [(t, novel) for t in evenly(passages[:cut], a.max_train)]
        test += [(t, novel) for t in evenly(passages[cut:], a.max_test)]
        print(f"{novel}: {len(words)} words, {cut} training and {len(passages) - cut} test passages of {a.words} words")
    for name, rows in (("train", train), ("test", test)):
        with open(os.path.join(a.out, f"{name}.jsonl"), "w", encoding="utf-8") as f:
            for text, label in rows:
                f.write(json.dumps({"text": text, "label": label}) + "\n")
    largest = max(novels, key=lambda n: sum(1 for _, label in test if label == n))
    majority = sum(1 for _, label in test if label == largest) / len(test)
    print(f"wrote {len(train)} training and {len(test)} test passages to {a.out}; "
          f"always answering '{largest}' scores {majority:.3f} on the test passages")


if __name__ == "__main__":
    main()
