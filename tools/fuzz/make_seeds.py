#!/usr/bin/env python3
"""Writes the small seed inputs of the fuzz targets (tools/fuzz/, docs/fuzzing.md) into
tests/fixtures/fuzz/{gguf,llama2c,tokenizer,cli}/. scripts/fuzz.sh adds the other fixtures (the GGUF
test files, ../shared/models/tok512.bin when present) at run time. The files are committed; re-run
after changing this script:  python3 tools/fuzz/make_seeds.py

Seeds only need to be valid (so the fuzzer starts deep inside the formats) and small (so it stays
fast); their values mean nothing. Crash regressions (crash-*) in the same folders are not
written here.
"""
import json
import random
import struct
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
OUT = ROOT / "tests" / "fixtures" / "fuzz"

# ---- GGUF ------------------------------------------------------------------------------------

U8, I8, U16, I16, U32, I32, F32, BOOL, STRING, ARRAY, U64, I64, F64 = range(13)
SCALAR = {U8: "<B", I8: "<b", U16: "<H", I16: "<h", U32: "<I", I32: "<i", F32: "<f", BOOL: "<?",
          U64: "<Q", I64: "<q", F64: "<d"}
# ggml type id, block size, bytes per block
GGML = {"f32": (0, 1, 4), "f16": (1, 1, 2), "q4_0": (2, 32, 18), "q4_1": (3, 32, 20), "q8_0": (8, 32, 34),
        "q4_k": (12, 256, 144), "q6_k": (14, 256, 210), "f64": (28, 1, 8), "bf16": (30, 1, 2)}


def gguf_string(s):
    b = s.encode() if isinstance(s, str) else s
    return struct.pack("<Q", len(b)) + b


def gguf_value(vtype, v, elem=None):
    if vtype == STRING:
        return gguf_string(v)
    if vtype == ARRAY:
        sub_type, sub_elem = elem if isinstance(elem, tuple) else (elem, None)
        return struct.pack("<IQ", sub_type, len(v)) + b"".join(gguf_value(sub_type, x, sub_elem) for x in v)
    return struct.pack(SCALAR[vtype], v)


def gguf_file(kv, tensors, alignment=32):
    """kv: [(key, type, value, elem)]; tensors: [(name, ne innermost first, type name, data bytes)]."""
    out = b"GGUF" + struct.pack("<IQQ", 3, len(tensors), len(kv))
    for key, vtype, v, elem in kv:
        out += gguf_string(key) + struct.pack("<I", vtype) + gguf_value(vtype, v, elem)
    data, offsets = b"", []
    for _, _, _, blob in tensors:
        offsets.append(len(data))
        data += blob + b"\0" * (-len(blob) % alignment)
    for (name, ne, tname, blob), offset in zip(tensors, offsets):
        type_id, block, size = GGML[tname]
        n = 1
        for d in ne:
            n *= d
        assert len(blob) == n // block * size, name
        out += gguf_string(name) + struct.pack("<I", len(ne)) + b"".join(struct.pack("<Q", d) for d in ne)
        out += struct.pack("<IQ", type_id, offset)
    out += b"\0" * (-len(out) % alignment)
    return out + data


# Tiny models of every architecture stretch reads (model/architecture.cpp), under the metadata
# keys and tensor names llama.cpp uses, so that the fuzzer starts inside read_model_config and
# read_model. F32 weights, 8 wide, 2 query heads on 1 KV head of width 4, vocabulary 16.
MODEL_ARCHS = {
    # arch: (layers, extra metadata, per-layer extra tensors)
    "llama": (2, [], []),
    "qwen2": (2, [], ["attn_q.bias", "attn_k.bias", "attn_v.bias"]),
    "qwen3": (2, [], ["attn_q_norm.weight", "attn_k_norm.weight"]),
    # six layers: five sliding-window ones and a global one
    "gemma3": (6, [("attention.sliding_window", U32, 4, None)],
               ["attn_q_norm.weight", "attn_k_norm.weight", "post_attention_norm.weight", "post_ffw_norm.weight"]),
}


def model_gguf(arch, seed):
    rng = random.Random(seed)
    E, H, KV, D, F, V = 8, 2, 1, 4, 8, 16
    layers, extra_kv, extra_tensors = MODEL_ARCHS[arch]
    kv = [("general.architecture", STRING, arch, None)]
    for key, vtype, v in [("context_length", U32, 64), ("embedding_length", U32, E), ("block_count", U32, layers),
                          ("feed_forward_length", U32, F), ("attention.head_count", U32, H),
                          ("attention.head_count_kv", U32, KV), ("attention.key_length", U32, D),
                          ("attention.value_length", U32, D), ("attention.layer_norm_rms_epsilon", F32, 1e-5),
                          ("rope.freq_base", F32, 10000.0)]:
        kv.append((f"{arch}.{key}", vtype, v, None))
    kv += [(f"{arch}.{key}", vtype, v, elem) for key, vtype, v, elem in extra_kv]

    def tensor(name, *ne):  # ne innermost first, as GGUF stores it
        n = 1
        for d in ne:
            n *= d
        return (name, list(ne), "f32", struct.pack(f"<{n}f", *(rng.uniform(-1, 1) for _ in range(n))))

    sizes = {"attn_q.bias": (H * D,), "attn_k.bias": (KV * D,), "attn_v.bias": (KV * D,),
             "attn_q_norm.weight": (D,), "attn_k_norm.weight": (D,), "post_attention_norm.weight": (E,),
             "post_ffw_norm.weight": (E,)}
    tensors = [tensor("token_embd.weight", E, V), tensor("output_norm.weight", E)]
    for il in range(layers):
        p = f"blk.{il}."
        tensors += [tensor(p + "attn_norm.weight", E), tensor(p + "attn_q.weight", E, H * D),
                    tensor(p + "attn_k.weight", E, KV * D), tensor(p + "attn_v.weight", E, KV * D),
                    tensor(p + "attn_output.weight", H * D, E), tensor(p + "ffn_norm.weight", E),
                    tensor(p + "ffn_gate.weight", E, F), tensor(p + "ffn_up.weight", E, F),
                    tensor(p + "ffn_down.weight", F, E)]
        tensors += [tensor(p + name, *sizes[name]) for name in extra_tensors]
    return gguf_file(kv, tensors)


def dequant_block(name, n_bytes):
    return (ROOT / "tests" / "fixtures" / "dequant" / f"{name}.bin").read_bytes()[:n_bytes]


def tensors_gguf():
    kv = [
        ("general.architecture", STRING, "llama", None),
        ("general.alignment", U32, 32, None),
        ("llama.block_count", U32, 1, None),
        ("test.i8", I8, -5, None),
        ("test.u16", U16, 65535, None),
        ("test.i64", I64, -(2 ** 40), None),
        ("test.f32", F32, 0.1, None),
        ("test.f64", F64, 1e300, None),
        ("test.bool", BOOL, True, None),
        ("test.array_i32", ARRAY, [1, -2, 3], I32),
        ("test.array_f64", ARRAY, [0.5, 2.0], F64),
        ("test.array_string", ARRAY, ["a", "", "<s>"], STRING),
        ("test.nested", ARRAY, [[1, 2], [3]], (ARRAY, U8)),
    ]
    tensors = [
        ("f32", [4, 2], "f32", struct.pack("<8f", *[0.5 * i - 1 for i in range(8)])),
        ("f16", [8], "f16", dequant_block("f16", 16)),
        ("bf16", [8], "bf16", dequant_block("bf16", 16)),
        ("f64", [3], "f64", struct.pack("<3d", 1.0, -1e300, 3e38)),
        ("q8_0", [32], "q8_0", dequant_block("q8_0", 34)),
        ("q4_0", [32], "q4_0", dequant_block("q4_0", 18)),
        ("q4_1", [32], "q4_1", dequant_block("q4_1", 20)),
        ("q4_k", [256], "q4_k", dequant_block("q4_k", 144)),
        ("q6_k", [256], "q6_k", dequant_block("q6_k", 210)),
        ("empty", [4, 0], "f32", b""),
        ("rank4", [2, 1, 1, 2], "f32", struct.pack("<4f", 1, 2, 3, 4)),
    ]
    return gguf_file(kv, tensors)


def byte_alphabet():
    """GPT-2's bytes_to_unicode: byte -> the character standing for it."""
    printable = [b for b in range(256) if 0x21 <= b <= 0x7E or 0xA1 <= b <= 0xAC or 0xAE <= b <= 0xFF]
    out, nxt = {}, 256
    for b in range(256):
        if b in printable:
            out[b] = chr(b)
        else:
            out[b] = chr(nxt)
            nxt += 1
    return out


def bpe_gguf():
    """A byte-level BPE vocabulary with every byte, a few merges and two special tokens."""
    alpha = byte_alphabet()
    tokens = ["<|endoftext|>", "<tool>"] + [alpha[b] for b in range(256)]
    types = [3, 4] + [1] * 256
    sp = alpha[ord(" ")]
    merges = [(sp, "t"), ("h", "e"), (sp + "t", "he"), ("i", "n"), (sp, "a"), ("1", "2")]
    for left, right in merges:
        tokens.append(left + right)
        types.append(1)
    kv = [
        ("general.architecture", STRING, "llama", None),
        ("tokenizer.ggml.model", STRING, "gpt2", None),
        ("tokenizer.ggml.pre", STRING, "smollm", None),
        ("tokenizer.ggml.tokens", ARRAY, tokens, STRING),
        ("tokenizer.ggml.token_type", ARRAY, types, I32),
        ("tokenizer.ggml.merges", ARRAY, [f"{l} {r}" for l, r in merges], STRING),
        ("tokenizer.ggml.bos_token_id", U32, 0, None),
        ("tokenizer.ggml.eos_token_id", U32, 0, None),
        ("tokenizer.ggml.add_bos_token", BOOL, False, None),
    ]
    return gguf_file(kv, [])


# ---- llama2.c --------------------------------------------------------------------------------

def llama2c_checkpoint(dim, hidden, layers, heads, kv_heads, vocab, seq_len, shared):
    head = dim // heads
    kv_dim = head * kv_heads
    n = vocab * dim + layers * (dim + dim * dim + 2 * kv_dim * dim + dim * dim + dim + 3 * hidden * dim)
    n += dim + 2 * seq_len * (head // 2) + (0 if shared else vocab * dim)
    header = struct.pack("<7i", dim, hidden, layers, heads, kv_heads, vocab if shared else -vocab, seq_len)
    return header + struct.pack(f"<{n}f", *[((i * 37) % 17 - 8) / 8 for i in range(n)])


def llama2c_tokenizer(pieces):
    """run.c's tokenizer.bin: <unk>, <s>, </s>, the 256 byte tokens, then `pieces`. The first int32
    (max_token_length, which nothing reads) holds the token count, which fuzz_llama2c reads as the
    vocabulary size."""
    tokens = [b"<unk>", b"\n<s>\n", b"\n</s>\n"] + [f"<0x{b:02X}>".encode() for b in range(256)]
    tokens += [p.encode() for p in pieces]
    out = struct.pack("<i", len(tokens))
    for i, t in enumerate(tokens):
        score = 0.0 if i < 259 else -float(i - 259)
        out += struct.pack("<fi", score, len(t)) + t
    return out


# ---- tokenizer texts -------------------------------------------------------------------------

def texts():
    """The tokenizer test cases' texts (tests/fixtures/tokenizer/*.json), deduplicated, cut to 256 bytes."""
    seen, out = set(), []
    for name in ["tok512_spm.json", "tok512_llama2c.json", "smollm2.json"]:
        cases = json.loads((ROOT / "tests" / "fixtures" / "tokenizer" / name).read_text())["cases"]
        groups = cases.values() if isinstance(cases, dict) else [cases]
        for group in groups:
            for case in group:
                b = case["text"].encode()[:256]
                if b and b not in seen:
                    seen.add(b)
                    out.append(b)
    return out


def serve_requests():
    """Bodies of stretch serve's endpoints: valid ones of each kind and near misses."""
    return [
        b'{"model":"m","prompt":"Once upon a time","max_tokens":16,"temperature":0.7,"top_p":0.9,"top_k":40,'
        b'"min_p":0.05,"repetition_penalty":1.1,"seed":3,"stop":["\\n","."],"stream":true,'
        b'"stream_options":{"include_usage":true},"echo":false,"logprobs":2,"pos":"yarn:factor=2"}',
        b'{"prompt":[[1,2,3],[4,5]],"max_tokens":1,"logprobs":1,"echo":true,"temperature":0,"seed":1234}',
        b'{"prompt":["a","b"],"n":1,"best_of":1,"suffix":null,"logit_bias":{},"user":"u","pos":"auto"}',
        b'{"messages":[{"role":"system","content":"Be brief."},{"role":"user","content":[{"type":"text",'
        b'"text":"Hi"}]},{"role":"assistant","content":"Hello","name":"x"}],"max_completion_tokens":8,'
        b'"logprobs":true,"top_logprobs":3,"presence_penalty":0,"frequency_penalty":0}',
        b'{"prompt":"hello \u00e9\ud83d\ude00","add_special_tokens":false}',
        b'{"tokens":[0,1,2,49151]}',
        b'{"prompt":"x","max_tokens":-1,"temperature":"hot","extra":[1,{"a":null}]}',
        b'{"prompt":"\xff"}',
        b'[1,2,3]',
    ]


# ---- what a user types (fuzz_cli) ------------------------------------------------------------

def cli_seeds():
    """fuzz_cli's inputs: a surface byte (0 command line, 1 spec, 2 config, 3 lists and numbers), a
    shape byte (spec: the model's training length and the run's length), then text."""
    commands = [
        "eval\n--model\nm\n--text\nt\n--lengths\n256,512\n--tokens\n4096\n--bucket\n64\n--threads\n2",
        "generate\n-m\nm\n-p\nhello\n-n\n128\n--temp\n0.7\n--top-k\n40\n--top-p\n0.9\n--min-p\n0.05\n--seed\n3",
        "ppl\n-m\nm\n-f\nt\n-c\n512\n--chunks\n4\n--score\nlast:64\n--pos\nyarn:factor=4",
        "train\n--preset\ntiny\n--data\nd\n--val\nv\n--out\no\n--steps\n10\n--seed\n1\n--set\nlr=1e-3",
        "zoo\n--data\nd\n--val\nv\n--lengths\n64,128\n--tokens\n512\n--steps\n5",
        "passkey\n-m\nm\n--lengths\n256\n--depths\n0,0.5,1\n--trials\n2",
        "probe\n--length\n16\n--steps\n5\n--lr\n0.003\n--d-model\n32\n--layers\n1\n--heads\n2",
        "bench\n--seconds\n0.5\n--train-steps\n2\n--model\nm\n--prefill\n64\n--cached\n128",
    ]
    specs = ["default", "yarn:factor=4+logn", "rerope:window=16", "sinks:n_sink=4,window=28", "window:w=16+sinks",
             "longrope:short_factor=1;1.5,long_factor=2", "hwfa:window=8,n_full=1", "alibi", "sinusoidal:base=10000",
             "self_extend:group_size=4", "leaky_rerope:window=8,k=16+logn:mode=trained", "ntk:form=fixed,factor=1e+1"]
    configs = ["d_model=64\nn_head=4\nn_head_kv=2\nlr=3e-4\nbeta2=0.99", "block=gau\ngau_key_dim=16\nflash_chunk=8",
               '{"steps": 10, "seed": 5, "pos": "alibi"}', "n_ctx_train=128\nbatch_size=2\nwarmup_steps=0"]
    numbers = ["256,512,1024", "last:16", "beyond", "4.5e-3", "9007199254740992"]
    seeds = [bytes([0, 0]) + c.encode() for c in commands]
    seeds += [bytes([1, 8 * i + 3]) + t.encode() for i, t in enumerate(specs)]
    seeds += [bytes([2, 0]) + c.encode() for c in configs]
    seeds += [bytes([3, 0]) + n.encode() for n in numbers]
    return seeds


def main():
    for i, seed in enumerate(cli_seeds()):
        (OUT / "cli").mkdir(parents=True, exist_ok=True)
        (OUT / "cli" / f"seed{i:02d}.txt").write_bytes(seed)
    for sub in ["gguf", "llama2c", "tokenizer", "serve_request"]:
        (OUT / sub).mkdir(parents=True, exist_ok=True)
    (OUT / "gguf" / "tensors.gguf").write_bytes(tensors_gguf())
    (OUT / "gguf" / "bpe_tiny.gguf").write_bytes(bpe_gguf())
    for i, arch in enumerate(MODEL_ARCHS):
        (OUT / "gguf" / f"model_{arch}.gguf").write_bytes(model_gguf(arch, seed=i))
    (OUT / "llama2c" / "shared.bin").write_bytes(llama2c_checkpoint(4, 4, 1, 2, 1, 3, 2, True))
    (OUT / "llama2c" / "separate.bin").write_bytes(llama2c_checkpoint(4, 6, 2, 2, 2, 3, 1, False))
    pieces = [" ", "e", "t", "h", "a", "o", "n", "d", " t", "he", " the", " a", "nd", " and", "\u00e9", "\u4e16"]
    (OUT / "llama2c" / "tok_tiny.bin").write_bytes(llama2c_tokenizer(pieces))
    for i, t in enumerate(texts()):
        (OUT / "tokenizer" / f"text{i:02d}.txt").write_bytes(t)
    for i, body in enumerate(serve_requests()):
        (OUT / "serve_request" / f"body{i:02d}.json").write_bytes(body)


if __name__ == "__main__":
    main()
