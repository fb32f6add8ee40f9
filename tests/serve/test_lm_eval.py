"""lm-evaluation-harness (PyPI lm_eval 0.4.13, `local-completions`, tokenizer_backend=remote: no Hugging
Face files) against stretch serve on SmolLM2-135M, with two tasks made here from Persuasion:
  austen_next: multiple choice, the true next sentence of a passage among four (three drawn from
               elsewhere in the book); its accuracy must beat chance (0.25) by a margin.
  austen_ppl:  loglikelihood_rolling over a 6 kB excerpt; its word_perplexity, byte_perplexity and
               bits_per_byte must equal `stretch ppl --score rolling -c MAX_LENGTH` on the same text
               within 1e-4 relative (the same requests scored without the server: the server
               prefills in chunks through the KV cache, ppl in one forward, so they differ by float
               rounding, ~1e-6).
The tasks come from scripts/serve_lm_eval_tasks.py.
usage: python test_lm_eval.py STRETCH_BINARY DATA_DIR"""
import json
import os
import pathlib
import subprocess
import sys
import tempfile

from serve_process import SKIP, Server, smollm2

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[2] / "scripts"))
from serve_lm_eval_tasks import make_tasks  # noqa: E402

try:
    import lm_eval  # noqa: F401
except ImportError:
    print("lm_eval is absent; scripts/get_serve_peers.sh installs it")
    sys.exit(SKIP)

binary, data = sys.argv[1], pathlib.Path(sys.argv[2])
MAX_LENGTH = 256  # lm-eval's max_length: requests of 255 tokens, 254 predicted per window
model = smollm2()


def main():
    with tempfile.TemporaryDirectory() as tmp:
        root = pathlib.Path(tmp)
        text = make_tasks(root, data)
        env = dict(os.environ, HF_HUB_OFFLINE="1", HF_DATASETS_OFFLINE="1", TOKENIZERS_PARALLELISM="false")
        with Server(binary, model, "--parallel", "4", "--threads", "2") as server:
            args = (f"model=smollm2,base_url={server.url}/v1/completions,tokenizer_backend=remote,"
                    f"tokenized_requests=True,num_concurrent=4,max_retries=1,max_length={MAX_LENGTH}")
            command = [sys.executable, "-m", "lm_eval", "--model", "local-completions", "--model_args", args,
                       "--tasks", "austen_next,austen_ppl", "--include_path", str(root), "--output_path",
                       str(root / "out")]
            run = subprocess.run(command, capture_output=True, text=True, env=env, timeout=1200)
            print(run.stdout)
            if run.returncode != 0:
                print(run.stderr[-6000:])
                raise AssertionError(f"lm_eval exited {run.returncode}")
        results = json.loads(next((root / "out").rglob("results_*.json")).read_text())["results"]
        next_task, ppl_task = results["austen_next"], results["austen_ppl"]
        print("lm-eval:", json.dumps({"austen_next": next_task, "austen_ppl": ppl_task}))
        # Chance is 0.25 over 40 questions (sd 0.07): 0.5 is 3.6 sd above it.
        assert next_task["acc_norm,none"] >= 0.5, next_task
        ppl = subprocess.run([binary, "ppl", "-m", model, "-f", str(text), "--score", "rolling", "-c", str(MAX_LENGTH),
                              "--threads", "2", "--json", str(root / "ppl.json")], capture_output=True, text=True,
                             check=True)
        print(ppl.stdout)
        want = json.loads((root / "ppl.json").read_text())["results"][0]
        for metric in ("word_perplexity", "byte_perplexity", "bits_per_byte"):
            got = ppl_task[f"{metric},none"]
            assert abs(got - want[metric]) <= 1e-4 * abs(want[metric]), (metric, got, want[metric])
    print("lm-eval: multiple choice above chance; rolling perplexity equals stretch ppl --score rolling: OK")


main()
