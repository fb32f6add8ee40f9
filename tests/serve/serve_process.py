"""Starts `stretch serve` on a free loopback port for an integration test and stops it with SIGTERM
(which must end it cleanly, exit status 0). Also where the tests find their peers and model."""
import os
import pathlib
import signal
import subprocess
import sys

SKIP = 77  # ctest's SKIP_RETURN_CODE for these tests


def smollm2():
    cache = pathlib.Path(os.environ.get("STRETCH_CACHE", pathlib.Path.home() / ".cache/stretch"))
    path = cache / "SmolLM2-135M-Instruct.Q4_1.gguf"
    if not path.exists():
        print(f"{path} is absent; fetch it with scripts/get_smollm2.sh")
        sys.exit(SKIP)
    return str(path)


class Server:
    def __init__(self, binary, model, *args):
        self.proc = subprocess.Popen([binary, "serve", "-m", model, "--port", "0", *args], stdout=subprocess.PIPE,
                                     stderr=subprocess.STDOUT, text=True)
        self.lines = []
        for line in self.proc.stdout:
            self.lines.append(line)
            if "listening on " in line:
                self.url = line.split("listening on ")[1].strip()
                return
        raise RuntimeError("stretch serve did not start:\n" + "".join(self.lines))

    def stop(self):
        self.proc.send_signal(signal.SIGTERM)
        out, _ = self.proc.communicate(timeout=60)
        self.lines.append(out)
        if self.proc.returncode != 0:
            raise RuntimeError(f"stretch serve exited {self.proc.returncode} on SIGTERM:\n" + "".join(self.lines))

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        if self.proc.poll() is None:
            self.stop()
