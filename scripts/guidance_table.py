#!/usr/bin/env python3
"""Classifier guidance on SmolLM2 (docs/finetune.md "Classifier guidance"): how often generations
read as *Persuasion* rather than *Emma*, and what they cost in perplexity, for unguided sampling,
`stretch generate --guide` at several gamma, and classifier-free guidance (`--cfg-scale`, the
conditional prompt naming the novel, the plain prompt as the negative).

1. Passages: scripts/austen_passages.py --novels emma,persuasion --words WORDS; the training
   passages split in two halves, alternately: the guide trains on one, the judge on the other.
2. The guide: `stretch finetune --method probe --task classify --pooling mean --set prefixes=true`
   (a classifier of prefixes, as FUDGE trains it), on the guide half.
3. The judge, trained separately by other code on the other half: a logistic regression (numpy)
   on llama.cpp's mean-pooled embeddings of the base model (tests/reference/austen_probe_reference.py),
   with its test accuracy printed beside the guide's.
4. Generations: every row samples the same prompts with the same seeds; the judge reads each
   continuation alone (not the prompt), and its perplexity is the base model's (llama.cpp) on the
   continuation after the plain prompt.

usage: scripts/guidance_table.py --model M --out DIR [--target persuasion|emma] [--words 64] [--steps 200]
       [--samples 2] [--tokens 40] [--scales 0,1,2,4,8] [--cfg-scales 1,3] [--top-k 10] [--threads 2]
The table gives, per row, the share of continuations the judge assigns to the target and the judge's
mean probability of the target (which moves even where the judge's decision does not: a judge trained
on 64-word passages may lean to one novel on 40-token generations).
(the binary: $STRETCH, else build/stretch). Needs llama-cpp-python and numpy.
"""
import argparse
import json
import math
import os
import subprocess
import sys
import time

import numpy as np
from llama_cpp import Llama

here = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(here, "..", "tests", "reference"))
from austen_probe_reference import features, fit  # noqa: E402

stretch = os.environ.get("STRETCH", os.path.join(here, "..", "build", "stretch"))
PROMPTS = ["The next morning she", "It was not long before", "He had been", "Her father"]
# The conditional prompt of classifier-free guidance, per target novel.
CONDITIONS = {
    "persuasion": "A passage from Persuasion, by Jane Austen, about Anne Elliot and Captain Wentworth:\n\n",
    "emma": "A passage from Emma, by Jane Austen, about Emma Woodhouse and Mr. Knightley:\n\n",
}


def run(command):
    done = subprocess.run(command, capture_output=True, text=True)
    if done.returncode != 0:
        raise SystemExit(f"{' '.join(command)} failed:\n{done.stderr}")
    return done.stdout


def split_halves(passages, out):
    lines = open(os.path.join(passages, "train.jsonl"), encoding="utf-8").read().splitlines()
    for name, half in (("guide", lines[0::2]), ("judge", lines[1::2])):
        with open(os.path.join(out, f"{name}.jsonl"), "w", encoding="utf-8") as f:
            f.write("\n".join(half) + "\n")


def train_guide(a, passages):
    out = os.path.join(a.out, "guide")
    command = [stretch, "finetune", "-m", a.model, "--method", "probe", "--task", "classify", "--pooling", "mean",
               "--set", "prefixes=true", "--context", str(a.words), "--steps", str(a.steps), "--threads", str(a.threads),
               "--set", "lr=1e-2", "--set", "batch_size=8", "--set", "warmup_steps=10", "--set", f"eval_every={a.steps}",
               "--set", f"checkpoint_every={a.steps}", "--set", "log_every=10",
               "--data", os.path.join(a.out, "guide.jsonl"), "--val", os.path.join(passages, "test.jsonl"), "--out", out]
    run(command)
    log = [json.loads(line) for line in open(os.path.join(out, "log.jsonl")) if line.strip()]
    return out, log[-1]["val_accuracy"], " ".join(command[1:])


def train_judge(a, llm, passages):
    xtr, ltr = features(llm, os.path.join(a.out, "judge.jsonl"), a.words)
    xte, lte = features(llm, os.path.join(passages, "test.jsonl"), a.words)
    classes = sorted(set(ltr))
    ytr, yte = np.array([classes.index(x) for x in ltr]), np.array([classes.index(x) for x in lte])
    mu, sd = xtr.mean(axis=0), xtr.std(axis=0) + 1e-8
    w, b = fit((xtr - mu) / sd, ytr, len(classes))
    accuracy = float(((((xte - mu) / sd) @ w + b).argmax(axis=1) == yte).mean())
    return (lambda x: ((x - mu) / sd) @ w + b), classes, accuracy


def generate(a, prompt, seed, extra):
    command = [stretch, "generate", "-m", a.model, "-p", prompt, "-n", str(a.tokens), "--seed", str(seed),
               "--temp", "0.8", "--threads", str(a.threads)] + extra
    text = run(command)
    return text[len(prompt):].rstrip("\n") if text.startswith(prompt) else text.rstrip("\n")


def perplexity(llm, prompt, continuation):
    context = llm.tokenize(prompt.encode("utf-8"), add_bos=True)
    tokens = llm.tokenize((prompt + continuation).encode("utf-8"), add_bos=True)
    llm.reset()
    llm.eval(tokens)
    logits = np.asarray(llm.scores[:len(tokens)], dtype=np.float64)
    nll = []
    for i in range(len(context), len(tokens)):
        z = logits[i - 1]
        nll.append(-(z[tokens[i]] - (z.max() + math.log(np.exp(z - z.max()).sum()))))
    return nll


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--model", required=True)
    p.add_argument("--out", required=True)
    p.add_argument("--words", type=int, default=64)
    p.add_argument("--max-train", type=int, default=200)
    p.add_argument("--max-test", type=int, default=60)
    p.add_argument("--steps", type=int, default=200)
    p.add_argument("--samples", type=int, default=2, help="seeds per prompt")
    p.add_argument("--tokens", type=int, default=40)
    p.add_argument("--scales", default="0,1,2,4,8")
    p.add_argument("--cfg-scales", default="1,3")
    p.add_argument("--top-k", type=int, default=10)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--target", choices=sorted(CONDITIONS), default="persuasion")
    a = p.parse_args()
    start = time.time()
    passages = os.path.join(a.out, "passages")
    os.makedirs(a.out, exist_ok=True)
    run([sys.executable, os.path.join(here, "austen_passages.py"), "--out", passages, "--words", str(a.words),
         "--novels", "emma,persuasion", "--max-train", str(a.max_train), "--max-test", str(a.max_test)])
    split_halves(passages, a.out)
    guide, guide_accuracy, guide_command = train_guide(a, passages)
    print(f"guide: {guide_command}\n  test accuracy {guide_accuracy:.3f}", flush=True)
    embed = Llama(model_path=a.model, embedding=True, pooling_type=1, n_ctx=256, n_threads=a.threads, verbose=False)
    judge, classes, judge_accuracy = train_judge(a, embed, passages)
    print(f"judge: logistic regression on llama.cpp mean-pooled embeddings, test accuracy {judge_accuracy:.3f}", flush=True)
    scorer = Llama(model_path=a.model, logits_all=True, n_ctx=256, n_threads=a.threads, verbose=False)

    rows = [("unguided", lambda prompt: (prompt, []))]
    for scale in a.scales.split(","):
        rows.append((f"--guide, gamma {scale}", lambda prompt, s=scale: (
            prompt, ["--guide", guide, "--guide-class", a.target, "--guide-scale", s, "--guide-top-k", str(a.top_k)])))
    for scale in a.cfg_scales.split(","):
        rows.append((f"--cfg-scale {scale}, prompt naming {a.target.capitalize()}", lambda prompt, s=scale: (
            CONDITIONS[a.target] + prompt, ["--cfg-scale", s, "--cfg-negative-prompt", prompt])))
    table = []
    for name, make in rows:
        hits, probability, nll, t0 = [], [], [], time.time()
        for prompt in PROMPTS:
            for seed in range(a.samples):
                given, extra = make(prompt)
                continuation = generate(a, given, seed, extra)
                if given != prompt and continuation.startswith(prompt):
                    continuation = continuation[len(prompt):]
                vector = np.asarray(embed.embed(continuation if continuation.strip() else "."), dtype=np.float64)
                z = judge(vector[None, :])[0]
                hits.append(classes[int(z.argmax())] == a.target)
                p_all = np.exp(z - z.max())
                probability.append(float(p_all[classes.index(a.target)] / p_all.sum()))
                nll += perplexity(scorer, prompt, continuation)
        table.append((name, float(np.mean(hits)), float(np.mean(probability)), math.exp(float(np.mean(nll))),
                      time.time() - t0))
        print(f"  {name}: class rate {table[-1][1]:.3f}, p(target) {table[-1][2]:.3f}, perplexity {table[-1][3]:.2f} "
              f"({table[-1][4]:.0f} s)", flush=True)
    n = len(PROMPTS) * a.samples
    print(f"\n{n} samples per row ({len(PROMPTS)} prompts x {a.samples} seeds), {a.tokens} tokens, temperature 0.8; "
          f"target class '{a.target}'; guide top-k {a.top_k}\n")
    print("| generation | class rate (judge) | mean p(target) (judge) | perplexity (base model) |")
    print("|---|---|---|---|")
    for name, rate, prob, ppl, _ in table:
        print(f"| {name} | {rate:.3f} | {prob:.3f} | {ppl:.2f} |")
    print(f"\nguide test accuracy {guide_accuracy:.3f}, judge test accuracy {judge_accuracy:.3f}; "
          f"run time {time.time() - start:.0f} s")


if __name__ == "__main__":
    main()
