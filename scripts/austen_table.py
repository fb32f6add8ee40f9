#!/usr/bin/env python3
"""The Austen task's table (docs/finetune.md): one `stretch finetune --task classify` run per method
(probe, full, lora, lst) and objective (ce, hinge, exact), each on the passages of
scripts/austen_passages.py, printed as a Markdown table of test accuracy (val_accuracy of the last
step, over every test passage), trainable parameters, peak RSS (GNU time's maximum resident set
size) and seconds per optimizer step (the log's elapsed time at the step before the last, over its
steps: the final evaluation left out), with each run's command line below it.

usage: scripts/austen_table.py --model M --passages DIR --out DIR [--context 32] [--steps 30]
                               [--methods probe,full,lora,lst] [--objectives ce,hinge,exact]
                               [--lr probe=1e-2,full=5e-5,lora=1e-3,lst=2e-3] [--threads 2]
(the binary: $STRETCH, else build/stretch; GNU time at /usr/bin/time)
"""
import argparse
import json
import os
import re
import subprocess

here = os.path.dirname(os.path.abspath(__file__))
stretch = os.environ.get("STRETCH", os.path.join(here, "..", "build", "stretch"))


def run_one(a, method, objective, lr):
    out = os.path.join(a.out, f"{method}-{objective}")
    command = [stretch, "finetune", "-m", a.model, "--task", "classify", "--method", method, "--objective", objective,
               "--context", str(a.context), "--steps", str(a.steps), "--threads", str(a.threads),
               "--data", os.path.join(a.passages, "train.jsonl"), "--val", os.path.join(a.passages, "test.jsonl"),
               "--set", f"lr={lr}", "--set", f"batch_size={a.batch}", "--set", f"warmup_steps={a.warmup}",
               "--set", "log_every=1", "--set", f"eval_every={a.steps}", "--set", f"checkpoint_every={a.steps}",
               "--out", out]
    timed = subprocess.run(["/usr/bin/time", "-f", "peak_rss_kb %M"] + command, capture_output=True, text=True)
    if timed.returncode != 0:
        raise SystemExit(f"{' '.join(command)} failed:\n{timed.stderr}")
    rss_kb = int(re.search(r"peak_rss_kb (\d+)", timed.stderr).group(1))
    trainable = int(re.search(r"(\d+) trainable parameters", timed.stderr).group(1))
    log = [json.loads(line) for line in open(os.path.join(out, "log.jsonl")) if line.strip()]
    before_last = next(e for e in log if e["step"] == a.steps - 1)
    return {"method": method, "objective": objective, "accuracy": log[-1]["val_accuracy"], "trainable": trainable,
            "peak_rss_mb": rss_kb / 1024, "s_per_step": before_last["elapsed_s"] / (a.steps - 1),
            "command": " ".join(command[1:])}


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--model", required=True)
    p.add_argument("--passages", required=True, help="scripts/austen_passages.py's output folder")
    p.add_argument("--out", required=True)
    p.add_argument("--context", type=int, default=32)
    p.add_argument("--steps", type=int, default=30)
    p.add_argument("--batch", type=int, default=8)
    p.add_argument("--warmup", type=int, default=5)
    p.add_argument("--methods", default="probe,full,lora,lst")
    p.add_argument("--objectives", default="ce,hinge,exact")
    p.add_argument("--lr", default="probe=1e-2,full=5e-5,lora=1e-3,lst=2e-3")
    p.add_argument("--threads", type=int, default=2)
    a = p.parse_args()
    rates = dict(item.split("=") for item in a.lr.split(","))
    rows = []
    for method in a.methods.split(","):
        for objective in a.objectives.split(","):
            rows.append(run_one(a, method, objective, rates[method]))
            print(json.dumps(rows[-1]), flush=True)
    print("\n| method | objective | test accuracy | trainable parameters | peak RSS (MB) | s / step |")
    print("|---|---|---|---|---|---|")
    for r in rows:
        print(f"| {r['method']} | {r['objective']} | {r['accuracy']:.3f} | {r['trainable']:,} | "
              f"{r['peak_rss_mb']:.0f} | {r['s_per_step']:.2f} |")


if __name__ == "__main__":
    main()
