#!/usr/bin/env python3
"""An independent reference for `stretch finetune --method probe --pooling mean` on the Austen task:
llama.cpp (llama-cpp-python) computes each passage's mean-pooled final hidden states (its
embeddings with pooling mean read the output norm's states, as stretch's pooling does), and a
multinomial logistic regression, written here in numpy (full-batch gradient descent on the mean
cross-entropy with L2 weight decay, features standardised), is fitted on the training passages.
Prints the test accuracy, to set beside the probe's val_accuracy: a probe far below it has a bug,
not a hard task.

usage: python3 tests/reference/austen_probe_reference.py MODEL DIR CONTEXT
DIR holds train.jsonl and test.jsonl (scripts/austen_passages.py); passages are cut to CONTEXT tokens
(with BOS when the model adds one), as stretch cuts them.
"""
import json
import sys

import numpy as np
from llama_cpp import Llama


def features(llm, path, context):
    rows, labels = [], []
    for line in open(path, encoding="utf-8"):
        item = json.loads(line)
        tokens = llm.tokenize(item["text"].encode("utf-8"), add_bos=llm.metadata.get("tokenizer.ggml.add_bos_token", "true") == "true")[:context]
        llm.reset()
        rows.append(np.asarray(llm.embed(llm.detokenize(tokens).decode("utf-8", "replace")), dtype=np.float64))
        labels.append(item["label"])
    return np.stack(rows), labels


def fit(x, y, k, steps=2000, lr=0.5, decay=1e-3):
    w, b = np.zeros((x.shape[1], k)), np.zeros(k)
    onehot = np.eye(k)[y]
    for _ in range(steps):
        z = x @ w + b
        z -= z.max(axis=1, keepdims=True)
        p = np.exp(z)
        p /= p.sum(axis=1, keepdims=True)
        g = (p - onehot) / len(y)
        w -= lr * (x.T @ g + decay * w)
        b -= lr * g.sum(axis=0)
    return w, b


def main():
    model, folder, context = sys.argv[1], sys.argv[2], int(sys.argv[3])
    llm = Llama(model_path=model, embedding=True, pooling_type=1, n_ctx=context + 8, n_threads=2, verbose=False)
    xtr, ltr = features(llm, f"{folder}/train.jsonl", context)
    xte, lte = features(llm, f"{folder}/test.jsonl", context)
    classes = sorted(set(ltr))
    ytr = np.array([classes.index(l) for l in ltr])
    yte = np.array([classes.index(l) for l in lte])
    mu, sd = xtr.mean(axis=0), xtr.std(axis=0) + 1e-8
    w, b = fit((xtr - mu) / sd, ytr, len(classes))
    train_acc = float(((((xtr - mu) / sd) @ w + b).argmax(axis=1) == ytr).mean())
    test_acc = float(((((xte - mu) / sd) @ w + b).argmax(axis=1) == yte).mean())
    print(json.dumps({"classes": classes, "train": len(ytr), "test": len(yte), "train_accuracy": train_acc,
                      "test_accuracy": test_acc}))


if __name__ == "__main__":
    main()
