"""stretch serve driven by the `openai` Python package (completions, chat, streaming, logprobs) on
SmolLM2-135M: greedy outputs must equal `stretch generate --temp 0` on the same prompt (the CLI's
own generation loop, without the server's batching), streams must add up to the whole response, and
stop strings, echo and the tokenizer endpoints must do what OpenAI's and vLLM's documents say.
usage: python test_openai_client.py STRETCH_BINARY"""
import concurrent.futures
import json
import math
import subprocess
import sys
import urllib.request

from serve_process import SKIP, Server, smollm2

try:
    import openai
except ImportError:
    print("the openai package is absent; scripts/get_serve_peers.sh installs it")
    sys.exit(SKIP)

binary, model = sys.argv[1], smollm2()


def generate(prompt, n, chat=False):
    """`stretch generate` greedy: its stdout is the prompt (unless --chat) followed by the completion."""
    args = [binary, "generate", "-m", model, "-p", prompt, "-n", str(n), "--temp", "0", "--threads", "2"]
    out = subprocess.run(args + (["--chat"] if chat else []), capture_output=True, text=True, check=True).stdout
    return out


def post(url, body):
    req = urllib.request.Request(url, json.dumps(body).encode(), {"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(req) as r:
            return r.status, json.loads(r.read())
    except urllib.error.HTTPError as e:
        return e.code, json.loads(e.read())


def main():
    with Server(binary, model, "--parallel", "4", "--threads", "2") as server:
        client = openai.OpenAI(base_url=server.url + "/v1", api_key="none")
        prompt = "The three most important things about a garden are"
        # Completions: greedy text equals the CLI's.
        c = client.completions.create(model="smollm2", prompt=prompt, max_tokens=24, temperature=0)
        want = generate(prompt, 24)  # the CLI ends its output with a newline
        assert want.startswith(prompt) and c.choices[0].text == want[len(prompt):-1], (c.choices[0].text, want)
        assert c.usage.completion_tokens == 24 or c.choices[0].finish_reason == "stop"
        # Streaming adds up to the same text.
        streamed = "".join(ch.choices[0].text for ch in client.completions.create(
            model="smollm2", prompt=prompt, max_tokens=24, temperature=0, stream=True))
        assert streamed == c.choices[0].text, (streamed, c.choices[0].text)
        # Concurrent requests (one batch) give what each gives alone.
        prompts = [prompt, "Once upon a time", "def fibonacci(n):", "Paris is"]
        alone = [client.completions.create(model="m", prompt=p, max_tokens=12, temperature=0).choices[0].text
                 for p in prompts]
        with concurrent.futures.ThreadPoolExecutor(4) as pool:
            together = list(pool.map(lambda p: client.completions.create(
                model="m", prompt=p, max_tokens=12, temperature=0).choices[0].text, prompts))
        assert together == alone, (together, alone)
        # A list of prompts gives one choice each, in order.
        both = client.completions.create(model="m", prompt=prompts[:2], max_tokens=12, temperature=0)
        assert [ch.text for ch in sorted(both.choices, key=lambda ch: ch.index)] == alone[:2]
        # A stop string ends the text before it.
        cut = alone[0][5:9]
        stopped = client.completions.create(model="m", prompt=prompt, max_tokens=12, temperature=0, stop=[cut])
        assert stopped.choices[0].text == alone[0][:alone[0].index(cut)] and stopped.choices[0].finish_reason == "stop"
        # Echo + logprobs: every prompt token scored, the first without one; log-probabilities <= 0, and
        # each top-1 alternative at least as likely as the token itself.
        e = client.completions.create(model="m", prompt=prompt, max_tokens=1, temperature=0, echo=True, logprobs=3)
        lp = e.choices[0].logprobs
        n_prompt = e.usage.prompt_tokens
        assert e.choices[0].text.startswith(prompt) and len(lp.tokens) == n_prompt + 1
        assert lp.token_logprobs[0] is None and lp.top_logprobs[0] is None
        for tok, value, top in zip(lp.tokens[1:], lp.token_logprobs[1:], lp.top_logprobs[1:]):
            assert value <= 0 and len(top) == 3 and max(top.values()) >= value - 1e-12
        assert "".join(lp.tokens[:n_prompt]) == prompt
        # Sampling with a seed is reproducible.
        s1 = client.completions.create(model="m", prompt=prompt, max_tokens=16, temperature=0.9, seed=5).choices[0].text
        s2 = client.completions.create(model="m", prompt=prompt, max_tokens=16, temperature=0.9, seed=5).choices[0].text
        assert s1 == s2
        # Chat: the template and greedy answer equal `stretch generate --chat`; streaming agrees.
        question = "What is the capital of France?"
        chat = client.chat.completions.create(model="m", messages=[{"role": "user", "content": question}],
                                              max_tokens=20, temperature=0)
        assert chat.choices[0].message.content == generate(question, 20, chat=True)[:-1], chat
        deltas = "".join((ch.choices[0].delta.content or "") for ch in client.chat.completions.create(
            model="m", messages=[{"role": "user", "content": question}], max_tokens=20, temperature=0, stream=True))
        assert deltas == chat.choices[0].message.content
        chat_lp = client.chat.completions.create(model="m", messages=[{"role": "user", "content": question}],
                                                 max_tokens=4, temperature=0, logprobs=True, top_logprobs=2)
        content = chat_lp.choices[0].logprobs.content
        assert len(content) == 4 and all(len(t.top_logprobs) == 2 and t.logprob <= 0 for t in content)
        # Errors name the field (OpenAI's error object), and the server goes on.
        try:
            client.completions.create(model="m", prompt=prompt, max_tokens=10**9)
            raise AssertionError("huge max_tokens accepted")
        except openai.BadRequestError as err:
            assert err.body["param"] == "max_tokens", err.body
        # Tokenizer endpoints (lm-eval's remote tokenizer).
        info = json.loads(urllib.request.urlopen(server.url + "/tokenizer_info").read())
        assert info["eos_token"] == "<|im_end|>" and info["bos_token"] == "<|im_start|>"
        status, tok = post(server.url + "/tokenize", {"prompt": prompt, "add_special_tokens": False})
        assert status == 200 and len(tok["tokens"]) == n_prompt
        status, text = post(server.url + "/detokenize", {"tokens": tok["tokens"]})
        assert status == 200 and text["prompt"] == prompt
        models = client.models.list()
        assert models.data[0].id.endswith(".gguf")
        metrics = urllib.request.urlopen(server.url + "/metrics").read().decode()
        assert 'stretch_requests_total{endpoint="/v1/completions",status="200"}' in metrics
        assert 'stretch_requests_total{endpoint="/v1/completions",status="400"} 1' in metrics
    print("openai client: completions, streaming, batching, stop, echo/logprobs, seed, chat, errors, tokenizer: OK")


main()
