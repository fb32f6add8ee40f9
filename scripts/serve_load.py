"""Load test of `stretch serve` beside llama.cpp's server (llama-cpp-python's, `python -m llama_cpp.server`)
on the same model, threads and requests, in one run, on loopback only; bounded in count and time.

Requests: REQUESTS completions from CLIENTS concurrent clients, drawn (seeded) from DISTINCT templates of
mixed lengths — prompts of 8 to 400 tokens cut from Persuasion, max_tokens 4 to 64, some streamed, some
chat — all greedy, so every answer can be checked: each template is first run alone (one request at a
time) and every answer under load must equal its template's alone answer (stretch: bit for bit, its
batches give each sequence what it gets alone; llama-cpp-python runs one request at a time anyway).
stretch's requests also carry a length method (`pos`: none, "auto", "yarn:factor=2", "ntk:factor=2"),
which llama.cpp's server does not know. Memory: the server's resident set after a concurrent warm-up
and after each pass of the requests (--passes: growth from pass to pass means a leak). Prints p50/p99 latency, requests/s and generated tokens/s.

usage: PYTHON scripts/serve_load.py --stretch build/stretch --model MODEL [--threads 2] [--parallel 16]
       [--clients 64] [--requests 1000] [--passes 1] [--time-limit 1800] [--skip-llama-cpp]
PYTHON: the environment of scripts/get_serve_peers.sh (llama-cpp-python's server extra)."""
import argparse
import concurrent.futures
import json
import os
import random
import signal
import socket
import statistics
import subprocess
import sys
import time
import urllib.request

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def rss_mib(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return float("nan")


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def templates(n, seed, data):
    text = open(os.path.join(data, "austen-persuasion.txt"), encoding="utf-8").read()
    rng = random.Random(seed)
    out = []
    for i in range(n):
        words = rng.choice([6, 24, 80, 160, 300])
        start = rng.randrange(0, len(text) // 2)
        start = text.index(" ", start) + 1
        prompt = " ".join(text[start:start + words * 8].split()[:words])
        kind = rng.choice(["completion", "completion", "stream", "chat"])
        out.append({"kind": kind, "prompt": prompt, "max_tokens": rng.choice([4, 16, 32, 64]),
                    "pos": rng.choice([None, "auto", "yarn:factor=2", "ntk:factor=2"])})
    return out


def request(url, t, with_pos, timeout=600, allow_stream=True):
    """Returns (seconds, text, generated tokens: None for a stream)."""
    body = {"model": "m", "max_tokens": t["max_tokens"], "temperature": 0}
    if with_pos and t["pos"]:
        body["pos"] = t["pos"]
    if t["kind"] == "chat":
        path, body["messages"] = "/v1/chat/completions", [{"role": "user", "content": t["prompt"]}]
    else:
        path, body["prompt"] = "/v1/completions", t["prompt"]
    stream = t["kind"] == "stream" and allow_stream
    if stream:
        body["stream"] = True
    req = urllib.request.Request(url + path, json.dumps(body).encode(), {"Content-Type": "application/json"})
    start = time.perf_counter()
    with urllib.request.urlopen(req, timeout=timeout) as r:
        raw = r.read().decode()
    seconds = time.perf_counter() - start
    if stream:
        pieces, tokens = [], 0
        for line in raw.splitlines():
            if line.startswith("data: ") and line != "data: [DONE]":
                chunk = json.loads(line[6:])
                if chunk.get("choices"):
                    pieces.append(chunk["choices"][0].get("text") or "")
                    tokens += 1
        return seconds, "".join(pieces), None
    out = json.loads(raw)
    choice = out["choices"][0]
    text = choice["message"]["content"] if t["kind"] == "chat" else choice["text"]
    return seconds, text, out["usage"]["completion_tokens"]


def start(command, ready_url, log):
    proc = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT)
    for _ in range(600):
        try:
            urllib.request.urlopen(ready_url, timeout=2)
            return proc
        except Exception:  # noqa: BLE001 - not up yet
            if proc.poll() is not None:
                raise RuntimeError(f"{command[0]} exited {proc.returncode}")
            time.sleep(0.5)
    raise RuntimeError(f"{command} did not come up")


def load(name, url, pid, ts, args, with_pos):
    reference, reference_tokens = {}, {}
    for i, t in enumerate(ts):  # each template alone, not streamed: the expected answers, and a warm-up
        _, reference[i], reference_tokens[i] = request(url, t, with_pos, allow_stream=False)
    rng = random.Random(args.seed)
    picks = [rng.randrange(len(ts)) for _ in range(args.requests)]
    # A concurrent warm-up of as many requests as clients, so that the resident set below holds the
    # memory a full batch needs (caches at their peak); what grows after it is a leak.
    with concurrent.futures.ThreadPoolExecutor(args.clients) as pool:
        list(pool.map(lambda i: request(url, ts[i], with_pos), picks[:args.clients]))
    rss_warm = rss_mib(pid)
    deadline = time.time() + args.time_limit
    latencies, tokens, wrong, failed = [], 0, 0, 0

    def one(i):
        if time.time() > deadline:
            return None
        return i, request(url, ts[i], with_pos)

    def run_pass():
        nonlocal tokens, wrong, failed
        with concurrent.futures.ThreadPoolExecutor(args.clients) as pool:
            for f in [pool.submit(one, i) for i in picks]:
                try:
                    r = f.result()
                except Exception as e:  # noqa: BLE001 - counted, then reported
                    failed += 1
                    print(f"{name}: request failed: {e}", file=sys.stderr)
                    continue
                if r is None:
                    continue
                i, (seconds, text, _) = r
                latencies.append(seconds)
                tokens += reference_tokens[i]
                if text != reference[i]:
                    wrong += 1
                    print(f"{name}: template {i} answered {text!r}, alone {reference[i]!r}", file=sys.stderr)

    # Pass after pass of the same requests: the resident set after each shows whether it grows.
    start_time = time.perf_counter()
    rss_passes = []
    for _ in range(args.passes):
        run_pass()
        rss_passes.append(rss_mib(pid))
    wall = time.perf_counter() - start_time
    latencies.sort()
    done = len(latencies)
    return {"server": name, "requests": done, "failed": failed, "wrong": wrong, "wall_s": wall,
            "p50_s": statistics.median(latencies), "p99_s": latencies[min(done - 1, int(0.99 * done))],
            "req_per_s": done / wall, "tokens_per_s": tokens / wall, "rss_warm_mib": rss_warm,
            "rss_after_mib": rss_passes}


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--stretch", required=True)
    p.add_argument("--model", required=True)
    p.add_argument("--data", default=os.environ.get("STRETCH_DATA", os.path.join(ROOT, "..", "shared", "data")))
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--parallel", type=int, default=16)
    p.add_argument("--clients", type=int, default=64)
    p.add_argument("--requests", type=int, default=1000)
    p.add_argument("--distinct", type=int, default=48)
    p.add_argument("--time-limit", type=float, default=1800)
    p.add_argument("--seed", type=int, default=15)
    p.add_argument("--passes", type=int, default=1, help="run the requests this many times (memory growth)")
    p.add_argument("--skip-llama-cpp", action="store_true")
    args = p.parse_args()
    ts = templates(args.distinct, args.seed, args.data)
    results = []
    log = open(os.devnull, "w")
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    proc = start([args.stretch, "serve", "-m", args.model, "--port", str(port), "--threads", str(args.threads),
                  "--parallel", str(args.parallel), "--queue", str(args.requests), "--ctx-size", "2048"],
                 url + "/health", log)
    try:
        results.append(load("stretch", url, proc.pid, ts, args, True))
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=60)
    if not args.skip_llama_cpp:
        port = free_port()
        url = f"http://127.0.0.1:{port}"
        proc = start([sys.executable, "-m", "llama_cpp.server", "--model", args.model, "--n_threads", str(args.threads),
                      "--n_threads_batch", str(args.threads), "--n_ctx", "2048", "--port", str(port), "--host",
                      "127.0.0.1",
                      # by default a new request cuts a stream in progress short; here every request runs to its end
                      "--interrupt_requests", "False"], url + "/v1/models", log)
        try:
            results.append(load("llama.cpp (llama-cpp-python server)", url, proc.pid, ts, args, False))
        finally:
            proc.send_signal(signal.SIGTERM)
            proc.wait(timeout=60)
    print(f"{args.requests} requests ({args.distinct} distinct, greedy), {args.clients} clients, {args.threads} threads, "
          f"stretch --parallel {args.parallel}")
    print(f"| server | done | failed | wrong | p50 s | p99 s | req/s | generated tok/s | RSS warm MiB | RSS after each pass MiB |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    for r in results:
        print(f"| {r['server']} | {r['requests']} | {r['failed']} | {r['wrong']} | {r['p50_s']:.2f} | {r['p99_s']:.2f} | "
              f"{r['req_per_s']:.2f} | {r['tokens_per_s']:.1f} | {r['rss_warm_mib']:.0f} | "
              f"{', '.join(f'{x:.0f}' for x in r['rss_after_mib'])} |")
    sys.exit(1 if any(r["failed"] or r["wrong"] for r in results) else 0)


main()
