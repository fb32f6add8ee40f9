#!/usr/bin/env python3
"""Writes the expected token ids of tests/io/test_tokenizer.cpp, each computed by an implementation
independent of stretch's:

- tests/fixtures/tokenizer/smollm2.json: SmolLM2-135M-Instruct's byte-level BPE (GGUF vocabulary
  and merges, read with llama.cpp's `gguf` package) run by Hugging Face `tokenizers`, under three
  pre-tokenizers: "smollm" (the file's own; Digits(individual_digits=True) + ByteLevel, as in
  SmolLM2's tokenizer.json), "gpt-2" (ByteLevel's regex alone) and "default" (llama.cpp's fallback
  cascade written as `tokenizers` Split stages). The model's 17 control tokens are added as
  special tokens, so they are matched whole as stretch's encode matches them. When
  llama-cpp-python is importable, its vocab-only tokenizer must agree on the "smollm" ids too.
- tests/fixtures/tokenizer/tok512_llama2c.json: llama2.c's tok512.bin run through a direct Python
  transcription of karpathy/llama2.c run.c `encode` (bos = eos = 0), below.
- tests/fixtures/tokenizer/tok512_spm.gguf and tok512_spm.json: the same 512 pieces as a GGUF
  "llama" vocabulary (spaces as U+2581; <unk> unknown, <s> </s> control, <0xXX> byte), and the ids
  `sentencepiece` gives for a BPE ModelProto built from the same pieces and scores (identity
  normaliser, dummy prefix, byte fallback), the algorithm llama.cpp's llm_tokenizer_spm ports.
- tests/fixtures/tokenizer/gemma3.json: Gemma-3-270M's 262,144-piece SentencePiece vocabulary run
  by llama.cpp itself (llama-cpp-python, vocab_only) with llama.cpp's default add_special (BOS
  first, as the file's add_bos_token says) and parse_special = true, on TEXTS plus GEMMA3_TEXTS
  (whitespace runs beyond the file's 31-long user-defined ones, tabs, CJK, emoji, byte fallback,
  control tokens, an Austen passage). Each case also says whether `sentencepiece`, given a
  ModelProto of the same pieces, scores and types (BPE, byte fallback, identity normaliser, no
  dummy prefix), gives the same ids; where it does not, llama.cpp's ids are the reference
  (llama.cpp splits out user-defined and control pieces from the raw text first, see
  llama-vocab.cpp tokenizer_st_partition).

Not run by the tests or CI: the generated files are committed. Re-run with
    pip install tokenizers sentencepiece protobuf gguf   (+ llama-cpp-python for gemma3.json)
    /usr/bin/python3 tests/reference/make_tokenizer_fixture.py
(the committed files were made with Debian's /usr/bin/python3, llama-cpp-python 0.3.16).
It needs the SmolLM2 GGUF (bash scripts/get_smollm2.sh prints its path), the Gemma 3 GGUF
(scripts/get_gemma3.sh), ../shared/models/tok512.bin and ../shared/data/{wikitext2-test,
tinystories-valid-excerpt,austen-emma}.txt (excerpts are copied into the fixtures, so the test needs
no data files).
"""
import hashlib
import importlib.metadata
import json
import os
import struct
from pathlib import Path

import gguf
import sentencepiece
from sentencepiece import sentencepiece_model_pb2 as spm_pb
from tokenizers import Regex, Tokenizer, decoders, models, pre_tokenizers

ROOT = Path(__file__).resolve().parents[2]
OUT = ROOT / "tests" / "fixtures" / "tokenizer"
SHARED = ROOT.parent / "shared"
SMOLLM2 = Path(os.environ.get("STRETCH_CACHE", Path.home() / ".cache" / "stretch")) / "SmolLM2-135M-Instruct.Q4_1.gguf"
TOK512 = SHARED / "models" / "tok512.bin"
GEMMA3 = SMOLLM2.parent / "gemma-3-270m-q4_k_m.gguf"


def excerpt(name):
    return (SHARED / "data" / name).read_text(encoding="utf-8")[:2000]


TEXTS = [
    ("prose", "The quick brown fox jumps over the lazy dog. It was a bright cold day in April, and the clocks were striking thirteen."),
    ("digits", "2024 is 12345"),
    ("numbers", "Pi is 3.14159, a million is 1,000,000 and x86_64 has \u00bd and \u00b2 too."),
    ("punctuation", "Hello, world! (yes) -- \"quoted\" ... ?!; a@b.com #tag $5 50% <tag/> [x]{y} a+b=c | x^2 ~y `code` 'single'"),
    ("whitespace", "a  b   c\n\nd\t\te \n  \n end   "),
    ("leading_space", " leading and trailing "),
    ("crlf", "line one\r\nline two\r\n\r\n  indented\n"),
    ("contractions", "don't you'll I'm we've they're she'd it's DON'T o'clock rock'n'roll"),
    ("unicode", "caf\u00e9 na\u00efve \u00fcber Stra\u00dfe \u2014 \u4e2d\u6587\u5b57\u7b26 \U0001F600 \U0001F469\u200d\U0001F4BB "
                "\u0395\u03bb\u03bb\u03b7\u03bd\u03b9\u03ba\u03ac \u043a\u0438\u0440\u0438\u043b\u043b\u0438\u0446\u0430\u00a0nbsp"),
    ("chat", "<|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\n"),
    ("empty", ""),
    ("single_space", " "),
    ("wikitext", excerpt("wikitext2-test.txt")),
    ("tinystories", excerpt("tinystories-valid-excerpt.txt")),
]

GEMMA3_TEXTS = [
    ("leading_spaces", "   three leading spaces, then   three inside and two  here"),
    ("long_space_run", "a" + " " * 40 + "b" + " " * 31 + "c" + " " * 32 + "d"),
    ("newline_runs", "one\ntwo\n\nthree\n\n\n\nfour\n" + "\n" * 35 + "end\n"),
    ("tabs", "\tone\t\ttwo\t\t\t\tthree \t mixed\t \t"),
    ("mixed_whitespace", " \t \n \r\n\u00a0\u2003\u3000x\u2581y"),
    ("digits_long", "0123456789 00000 3.14159265358979 1e-10 2025-01-31 $1,234.56 10%"),
    ("cjk", "\u65e5\u672c\u8a9e\u306e\u6587\u7ae0\u3067\u3059\u3002\u4e2d\u6587\u53e5\u5b50\uff0c"
            "\u8fd8\u6709\ud55c\uad6d\uc5b4 \ubb38\uc7a5."),
    ("emoji", "\U0001F44D\U0001F3FD \U0001F1EC\U0001F1E7 \u2764\ufe0f \U0001F468\u200d\U0001F469\u200d\U0001F467 \U0001F916!"),
    ("byte_fallback", "\x01\x02 \x7f \U0001D518\U0001D52B \U00020000\U0002A6A5 \U000E0041 \ufeffBOM \U0010FFFD"),
    ("gemma_chat", "<start_of_turn>user\nHello there<end_of_turn>\n<start_of_turn>model\n"),
    ("specials_inline", "text <bos> more <eos> and <pad><unk> [multimodal] <mask>"),
    ("italics", "_them_ and __double__ and _a_b_"),
    ("austen", (SHARED / "data" / "austen-emma.txt").read_text(encoding="utf-8")[:3000]),
]

GPT2_REGEX = r"'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+"


def versions(*packages):
    return {p: importlib.metadata.version(p) for p in packages}


def write_json(name, data):
    (OUT / name).write_text(json.dumps(data, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")


# ---- SmolLM2: Hugging Face tokenizers ----------------------------------------------------------

def gguf_strings(reader, key):
    field = reader.fields[key]
    return [bytes(field.parts[i]).decode("utf-8") for i in field.data]


def gguf_ints(reader, key):
    field = reader.fields[key]
    return [int(field.parts[i][0]) for i in field.data]


def hf_tokenizer(tokens, types, merges, pre):
    vocab = {t: i for i, t in enumerate(tokens)}
    tok = Tokenizer(models.BPE(vocab=vocab, merges=[tuple(m.split(" ", 1)) for m in merges]))
    if pre == "smollm":
        tok.pre_tokenizer = pre_tokenizers.Sequence([pre_tokenizers.Digits(individual_digits=True),
                                                     pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=True)])
    elif pre == "gpt-2":
        tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=True)
    else:  # llama.cpp's default: [\p{P}\$\+<=>\^~\|]+, GPT-2's regex, \p{N}+, [0-9][0-9][0-9]
        split = lambda pattern: pre_tokenizers.Split(Regex(pattern), behavior="isolated")
        tok.pre_tokenizer = pre_tokenizers.Sequence([split(r"[\p{P}\$\+<=>\^~\|]+"), split(GPT2_REGEX), split(r"\p{N}+"),
                                                     split(r"[0-9][0-9][0-9]"),
                                                     pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=False)])
    tok.decoder = decoders.ByteLevel()
    tok.add_special_tokens([t for t, ty in zip(tokens, types) if ty == 3])
    return tok


def llama_cpp_ids(path):
    try:
        import llama_cpp
    except ImportError:
        return None, None
    llm = llama_cpp.Llama(model_path=str(path), vocab_only=True, verbose=False)
    return {name: llm.tokenize(text.encode("utf-8"), add_bos=False, special=True) for name, text in TEXTS}, llama_cpp.__version__


def smollm2():
    reader = gguf.GGUFReader(str(SMOLLM2))
    tokens = gguf_strings(reader, "tokenizer.ggml.tokens")
    types = gguf_ints(reader, "tokenizer.ggml.token_type")
    merges = gguf_strings(reader, "tokenizer.ggml.merges")
    cases = {}
    for pre in ("smollm", "gpt-2", "default"):
        tok = hf_tokenizer(tokens, types, merges, pre)
        cases[pre] = [{"name": name, "text": text, "ids": tok.encode(text, add_special_tokens=False).ids} for name, text in TEXTS]
    llama_cpp, llama_cpp_version = llama_cpp_ids(SMOLLM2)
    if llama_cpp is not None:
        for case in cases["smollm"]:
            assert llama_cpp[case["name"]] == case["ids"], f"llama-cpp-python disagrees on {case['name']}"
    write_json("smollm2.json", {
        "generator": "tests/reference/make_tokenizer_fixture.py (Hugging Face tokenizers BPE from the GGUF vocabulary and merges)",
        "versions": versions("tokenizers", "gguf"),
        "llama_cpp_python": llama_cpp_version or "not installed when generated; not cross-checked",
        "model": SMOLLM2.name,
        "model_sha256": hashlib.sha256(SMOLLM2.read_bytes()).hexdigest(),
        "cases": cases,
    })


# ---- tok512: llama2.c's encode, transcribed --------------------------------------------------

def read_tok512():
    data = TOK512.read_bytes()
    offset, pieces, scores = 4, [], []  # int32 max_token_length first
    for _ in range(512):
        score, length = struct.unpack_from("<fi", data, offset)
        offset += 8
        pieces.append(data[offset:offset + length])
        scores.append(score)
        offset += length
    return pieces, scores


def llama2c_encode(text, vocab, scores):
    """karpathy/llama2.c run.c encode(t, text, bos=0, eos=0), statement for statement."""
    index = {piece: i for i, piece in enumerate(vocab)}  # str_lookup's bsearch over unique pieces
    tokens = []
    if text:  # add_dummy_prefix, only if text != ""
        tokens.append(index[b" "])
    buf = bytearray()
    for i, c in enumerate(text):
        if (c & 0xC0) != 0x80:  # not a continuation byte: start a new codepoint
            buf = bytearray()
        buf.append(c)
        following = text[i + 1] if i + 1 < len(text) else 0  # the C string's terminating NUL
        if (following & 0xC0) == 0x80 and len(buf) < 4:
            continue
        found = index.get(bytes(buf), -1)
        if found != -1:
            tokens.append(found)
        else:
            tokens.extend(b + 3 for b in buf)  # byte fallback; <unk>, <s>, </s> come first
        buf = bytearray()
    while True:  # merge the best consecutive pair each iteration
        best_score, best_id, best_idx = -1e10, -1, -1
        for i in range(len(tokens) - 1):
            found = index.get(vocab[tokens[i]] + vocab[tokens[i + 1]], -1)
            if found != -1 and scores[found] > best_score:
                best_score, best_id, best_idx = scores[found], found, i
        if best_idx == -1:
            break
        tokens[best_idx] = best_id
        del tokens[best_idx + 1]
    return tokens


def tok512_llama2c(pieces, scores):
    cases = [{"name": name, "text": text, "ids": llama2c_encode(text.encode("utf-8"), pieces, scores)} for name, text in TEXTS]
    write_json("tok512_llama2c.json", {
        "generator": "tests/reference/make_tokenizer_fixture.py (a Python transcription of llama2.c run.c encode)",
        "tokenizer": "tok512.bin",
        "tokenizer_sha256": hashlib.sha256(TOK512.read_bytes()).hexdigest(),
        "cases": cases,
    })


# ---- tok512 as a GGUF "llama" vocabulary: sentencepiece ------------------------------------

def spm_pieces(pieces):
    out = []
    for i, piece in enumerate(pieces):
        if i == 0:
            out.append(("<unk>", gguf.TokenType.UNKNOWN, spm_pb.ModelProto.SentencePiece.UNKNOWN))
        elif i <= 2:  # llama2.c's export wrote them as "\n<s>\n" and "\n</s>\n"
            out.append((["<s>", "</s>"][i - 1], gguf.TokenType.CONTROL, spm_pb.ModelProto.SentencePiece.CONTROL))
        elif i <= 258:
            out.append((piece.decode("ascii"), gguf.TokenType.BYTE, spm_pb.ModelProto.SentencePiece.BYTE))
        else:
            out.append((piece.decode("utf-8").replace(" ", "\u2581"), gguf.TokenType.NORMAL, spm_pb.ModelProto.SentencePiece.NORMAL))
    return out


def tok512_spm(pieces, scores):
    entries = spm_pieces(pieces)
    writer = gguf.GGUFWriter(str(OUT / "tok512_spm.gguf"), "llama")
    writer.add_tokenizer_model("llama")
    writer.add_token_list([text for text, _, _ in entries])
    writer.add_token_scores(scores)
    writer.add_token_types([gtype for _, gtype, _ in entries])
    writer.add_bos_token_id(1)
    writer.add_eos_token_id(2)
    writer.add_unk_token_id(0)
    writer.add_add_bos_token(True)
    writer.add_add_space_prefix(True)
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()

    proto = spm_pb.ModelProto()
    proto.trainer_spec.model_type = spm_pb.TrainerSpec.BPE
    proto.trainer_spec.vocab_size = len(entries)
    proto.trainer_spec.byte_fallback = True
    proto.trainer_spec.unk_id, proto.trainer_spec.bos_id, proto.trainer_spec.eos_id, proto.trainer_spec.pad_id = 0, 1, 2, -1
    proto.normalizer_spec.name = "identity"
    proto.normalizer_spec.add_dummy_prefix = True
    proto.normalizer_spec.remove_extra_whitespaces = False
    proto.normalizer_spec.escape_whitespaces = True
    for (text, _, ptype), score in zip(entries, scores):
        piece = proto.pieces.add()
        piece.piece, piece.score, piece.type = text, score, ptype
    sp = sentencepiece.SentencePieceProcessor(model_proto=proto.SerializeToString())
    cases = [{"name": name, "text": text, "ids": sp.encode(text)} for name, text in TEXTS]
    write_json("tok512_spm.json", {
        "generator": "tests/reference/make_tokenizer_fixture.py (sentencepiece BPE from a ModelProto of tok512's pieces)",
        "versions": versions("sentencepiece", "gguf"),
        "gguf": "tok512_spm.gguf",
        "cases": cases,
    })


# ---- Gemma 3: llama.cpp's own ids, compared with sentencepiece ----------------------------------

def gemma3_sentencepiece(reader):
    tokens = gguf_strings(reader, "tokenizer.ggml.tokens")
    types = gguf_ints(reader, "tokenizer.ggml.token_type")
    field = reader.fields["tokenizer.ggml.scores"]
    scores = [float(field.parts[i][0]) for i in field.data]
    proto = spm_pb.ModelProto()
    proto.trainer_spec.model_type = spm_pb.TrainerSpec.BPE
    proto.trainer_spec.vocab_size = len(tokens)
    proto.trainer_spec.byte_fallback = True
    proto.trainer_spec.pad_id, proto.trainer_spec.eos_id, proto.trainer_spec.bos_id, proto.trainer_spec.unk_id = 0, 1, 2, 3
    proto.normalizer_spec.name = "identity"
    proto.normalizer_spec.add_dummy_prefix = False
    proto.normalizer_spec.remove_extra_whitespaces = False
    proto.normalizer_spec.escape_whitespaces = True
    piece_type = {1: spm_pb.ModelProto.SentencePiece.NORMAL, 2: spm_pb.ModelProto.SentencePiece.UNKNOWN,
                  3: spm_pb.ModelProto.SentencePiece.CONTROL, 4: spm_pb.ModelProto.SentencePiece.USER_DEFINED,
                  5: spm_pb.ModelProto.SentencePiece.UNUSED, 6: spm_pb.ModelProto.SentencePiece.BYTE}
    for text, ty, score in zip(tokens, types, scores):
        piece = proto.pieces.add()
        piece.piece, piece.score, piece.type = text, score, piece_type[ty]
    return sentencepiece.SentencePieceProcessor(model_proto=proto.SerializeToString())


def gemma3():
    import llama_cpp
    reader = gguf.GGUFReader(str(GEMMA3))
    sp = gemma3_sentencepiece(reader)
    llm = llama_cpp.Llama(model_path=str(GEMMA3), vocab_only=True, verbose=False)
    add_special = bool(llama_cpp.llama_vocab_get_add_bos(llama_cpp.llama_model_get_vocab(llm.model)))
    cases = []
    for name, text in TEXTS + GEMMA3_TEXTS:
        ids = llm.tokenize(text.encode("utf-8"), add_bos=add_special, special=True)
        sp_ids = ([2] if add_special else []) + sp.encode(text)
        cases.append({"name": name, "text": text, "ids": ids, "sentencepiece_agrees": ids == sp_ids})
    write_json("gemma3.json", {
        "generator": "tests/reference/make_tokenizer_fixture.py (llama.cpp's tokenizer through llama-cpp-python, vocab_only)",
        "llama_cpp_python": llama_cpp.__version__,
        "versions": versions("sentencepiece", "gguf"),
        "model": GEMMA3.name,
        "model_sha256": hashlib.sha256(GEMMA3.read_bytes()).hexdigest(),
        "add_special": add_special,
        "parse_special": True,
        "cases": cases,
    })


def main():
    OUT.mkdir(parents=True, exist_ok=True)
    pieces, scores = read_tok512()
    tok512_llama2c(pieces, scores)
    tok512_spm(pieces, scores)
    smollm2()
    gemma3()


if __name__ == "__main__":
    main()
