#!/usr/bin/python3
"""Training throughput of stretch's model in PyTorch CPU: the peer of `stretch bench --peer-pytorch`
(../shared/design/benchmarks.md: "training throughput, default model ... PyTorch CPU, same model,
same threads, running the same steps").

The model is written as a PyTorch user would write it, in eager mode, after Meta's Llama reference
(github.com/meta-llama/llama, model.py): pre-norm RMSNorm, grouped-query attention with RoPE applied
through complex multiplication (which rotates the interleaved pairs (2t, 2t+1), stretch's default
pairing), causal softmax(QK^T / sqrt(D)) V as matmul + mask + softmax (torch 1.13 has no
scaled_dot_product_attention), SwiGLU, a final RMSNorm and an LM head tied to the embedding when the
config says so. Every step is stretch's trainer step: forward, mean cross-entropy, backward, global
gradient-norm clipping, AdamW (decay on matrices only), zero_grad, on random tokens.

Run with Debian's python3-torch (`apt-get install python3-torch`), i.e. /usr/bin/python3. Prints
one JSON object: tokens_per_s, parameters, threads, torch version, the OpenBLAS core type in use.

With --gemm-probe SECONDS it trains nothing and prints the GFLOP/s of the model's largest training
products (the FFN's forward and both backward products, torch.mm through OpenBLAS) instead:
`stretch bench` runs the probe under each OPENBLAS_CORETYPE and runs the peer with the fastest
(Debian's OpenBLAS picks SSE3 kernels on CPUs it does not recognise: issue 19).
"""
import argparse
import ctypes
import json
import math
import os
import time

# Debian's torch runs its own ops on OpenMP threads and its matrix products on OpenBLAS's threads;
# with OpenMP's default active waiting, idle OpenMP workers spin on the cores OpenBLAS is using
# (2-core development machine, load average ~13: 302 tokens/s by default, 508 with passive waiting). The
# peer gets the faster setting unless the caller chose one.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

import torch  # noqa: E402  (after the environment it reads at load)
import torch.nn as nn  # noqa: E402
import torch.nn.functional as F  # noqa: E402


class RMSNorm(nn.Module):
    def __init__(self, dim, eps):
        super().__init__()
        self.eps = eps
        self.weight = nn.Parameter(torch.ones(dim))

    def forward(self, x):
        return x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + self.eps) * self.weight


def rope_frequencies(head_dim, length, base):
    """cis(p * theta_t), theta_t = base^(-2t/D) (methods.md A1), as complex [T, D/2]."""
    inv_freq = 1.0 / (base ** (torch.arange(0, head_dim, 2, dtype=torch.float64) / head_dim))
    angles = torch.outer(torch.arange(length, dtype=torch.float64), inv_freq)
    return torch.polar(torch.ones_like(angles), angles).to(torch.complex64)


def apply_rope(x, freqs_cis):
    """x [B, T, H, D]: pairs (2t, 2t+1) rotated as complex numbers (Llama reference)."""
    x_complex = torch.view_as_complex(x.reshape(*x.shape[:-1], -1, 2))
    rotated = x_complex * freqs_cis.view(1, x.shape[1], 1, x.shape[-1] // 2)
    return torch.view_as_real(rotated).flatten(3)


class Attention(nn.Module):
    def __init__(self, d_model, n_head, n_head_kv):
        super().__init__()
        self.n_head, self.n_head_kv, self.head_dim = n_head, n_head_kv, d_model // n_head
        self.wq = nn.Linear(d_model, d_model, bias=False)
        self.wk = nn.Linear(d_model, n_head_kv * self.head_dim, bias=False)
        self.wv = nn.Linear(d_model, n_head_kv * self.head_dim, bias=False)
        self.wo = nn.Linear(d_model, d_model, bias=False)

    def forward(self, x, freqs_cis, mask):
        b, t, _ = x.shape
        q = apply_rope(self.wq(x).view(b, t, self.n_head, self.head_dim), freqs_cis)
        k = apply_rope(self.wk(x).view(b, t, self.n_head_kv, self.head_dim), freqs_cis)
        v = self.wv(x).view(b, t, self.n_head_kv, self.head_dim)
        group = self.n_head // self.n_head_kv  # query head h reads key/value head h // group
        k = k.repeat_interleave(group, dim=2)
        v = v.repeat_interleave(group, dim=2)
        q, k, v = q.transpose(1, 2), k.transpose(1, 2), v.transpose(1, 2)
        scores = torch.matmul(q, k.transpose(2, 3)) / math.sqrt(self.head_dim) + mask
        out = torch.matmul(F.softmax(scores, dim=-1), v)
        return self.wo(out.transpose(1, 2).reshape(b, t, -1))


class FeedForward(nn.Module):
    def __init__(self, d_model, d_ff):
        super().__init__()
        self.w1 = nn.Linear(d_model, d_ff, bias=False)  # gate
        self.w2 = nn.Linear(d_ff, d_model, bias=False)  # down
        self.w3 = nn.Linear(d_model, d_ff, bias=False)  # up

    def forward(self, x):
        return self.w2(F.silu(self.w1(x)) * self.w3(x))


class Block(nn.Module):
    def __init__(self, a):
        super().__init__()
        self.attention_norm = RMSNorm(a.d_model, a.norm_eps)
        self.attention = Attention(a.d_model, a.n_head, a.n_head_kv)
        self.ffn_norm = RMSNorm(a.d_model, a.norm_eps)
        self.feed_forward = FeedForward(a.d_model, a.d_ff)

    def forward(self, x, freqs_cis, mask):
        x = x + self.attention(self.attention_norm(x), freqs_cis, mask)
        return x + self.feed_forward(self.ffn_norm(x))


class Transformer(nn.Module):
    def __init__(self, a):
        super().__init__()
        self.tok_embeddings = nn.Embedding(a.vocab_size, a.d_model)
        self.layers = nn.ModuleList(Block(a) for _ in range(a.n_layer))
        self.norm = RMSNorm(a.d_model, a.norm_eps)
        self.output = nn.Linear(a.d_model, a.vocab_size, bias=False)
        if a.tie_embeddings:
            self.output.weight = self.tok_embeddings.weight
        self.register_buffer("freqs_cis", rope_frequencies(a.d_model // a.n_head, a.n_ctx_train, a.rope_base))
        mask = torch.full((a.n_ctx_train, a.n_ctx_train), float("-inf")).triu(1)
        self.register_buffer("mask", mask)

    def forward(self, tokens):
        x = self.tok_embeddings(tokens)
        for layer in self.layers:
            x = layer(x, self.freqs_cis, self.mask)
        return self.output(self.norm(x))


def openblas_core():
    """The core type of the OpenBLAS this process loaded (torch links it as libblas), or "none" when
    its BLAS is not OpenBLAS."""
    for line in open("/proc/self/maps"):
        fields = line.split()
        if len(fields) < 6 or "blas" not in os.path.basename(fields[5]):
            continue
        try:
            get = ctypes.CDLL(fields[5]).openblas_get_corename
        except (OSError, AttributeError):
            continue
        get.restype = ctypes.c_char_p
        return get().decode()
    return "none"


def gemm_probe(a, seconds):
    """GFLOP/s of the FFN's products in a training step: x W^T, dy W and dy^T x, best of each."""
    rows = a.batch_size * a.n_ctx_train
    x, w, dy = torch.randn(rows, a.d_model), torch.randn(a.d_ff, a.d_model), torch.randn(rows, a.d_ff)
    products = [lambda: torch.mm(x, w.t()), lambda: torch.mm(dy, w), lambda: torch.mm(dy.t(), x)]
    best = [float("inf")] * len(products)
    start = time.perf_counter()
    while time.perf_counter() - start < seconds or best[-1] == float("inf"):
        for i, product in enumerate(products):
            t = time.perf_counter()
            product()
            best[i] = min(best[i], time.perf_counter() - t)
    return 2.0 * rows * a.d_model * a.d_ff * len(products) / sum(best) * 1e-9


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--threads", type=int, required=True)
    p.add_argument("--steps", type=int, default=5)
    p.add_argument("--warmup", type=int, default=2)
    p.add_argument("--vocab-size", type=int, default=256)
    p.add_argument("--d-model", type=int, default=256)
    p.add_argument("--n-layer", type=int, default=4)
    p.add_argument("--n-head", type=int, default=8)
    p.add_argument("--n-head-kv", type=int, default=4)
    p.add_argument("--d-ff", type=int, default=688)
    p.add_argument("--n-ctx-train", type=int, default=256)
    p.add_argument("--rope-base", type=float, default=10000.0)
    p.add_argument("--norm-eps", type=float, default=1e-5)
    p.add_argument("--tie-embeddings", type=int, choices=(0, 1), default=1)
    p.add_argument("--batch-size", type=int, default=16)
    p.add_argument("--lr", type=float, default=2e-3)
    p.add_argument("--weight-decay", type=float, default=0.1)
    p.add_argument("--beta1", type=float, default=0.9)
    p.add_argument("--beta2", type=float, default=0.95)
    p.add_argument("--adam-eps", type=float, default=1e-8)
    p.add_argument("--grad-clip", type=float, default=1.0)
    p.add_argument("--gemm-probe", type=float, default=0.0, metavar="SECONDS")
    a = p.parse_args()

    torch.set_num_threads(a.threads)
    if a.gemm_probe > 0:
        print(json.dumps({"gemm_gflops": gemm_probe(a, a.gemm_probe), "openblas_core": openblas_core()}))
        return
    torch.manual_seed(1337)
    model = Transformer(a)
    parameters = list(model.parameters())  # a tied weight is listed once
    matrices = [w for w in parameters if w.dim() >= 2]
    vectors = [w for w in parameters if w.dim() < 2]
    optimizer = torch.optim.AdamW(
        [{"params": matrices, "weight_decay": a.weight_decay}, {"params": vectors, "weight_decay": 0.0}],
        lr=a.lr, betas=(a.beta1, a.beta2), eps=a.adam_eps)

    elapsed = 0.0
    for step in range(a.warmup + a.steps):
        inputs = torch.randint(0, a.vocab_size, (a.batch_size, a.n_ctx_train))
        targets = torch.randint(0, a.vocab_size, (a.batch_size, a.n_ctx_train))
        start = time.perf_counter()
        logits = model(inputs)
        loss = F.cross_entropy(logits.view(-1, a.vocab_size), targets.view(-1))
        loss.backward()
        if a.grad_clip > 0:
            torch.nn.utils.clip_grad_norm_(parameters, a.grad_clip)
        optimizer.step()
        optimizer.zero_grad()
        if step >= a.warmup:
            elapsed += time.perf_counter() - start
    print(json.dumps({
        "tokens_per_s": a.steps * a.batch_size * a.n_ctx_train / elapsed,
        "parameters": sum(w.numel() for w in parameters),
        "threads": torch.get_num_threads(),
        "torch": torch.__version__,
        "openblas_core": openblas_core(),
    }))


if __name__ == "__main__":
    main()
