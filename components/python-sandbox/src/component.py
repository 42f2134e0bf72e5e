"""An adversarial Python guest for berth's sandbox tests: `parameters.mode` in /data/config.json
says what it tries.

- `probe`: a TCP connection to `parameters.target`, a name lookup, reading files outside /data
  (directly and through `..`), listing `/`, starting a thread and a subprocess; prints a JSON
  report `{attempt: "ok: …" | "error: …"}` and exits 0 (the host asserts);
- `memory`: allocates 10 MB blocks until it is stopped;
- `spin`: loops forever; `sleep`: sleeps for an hour;
- `c_extension`: imports PyYAML (pure-Python fallback), then PyYAML's left-out C extension,
  printing the ImportError.
"""

import json
import os
import sys


def attempt(action):
    try:
        return "ok: " + repr(action())[:200]
    except BaseException as error:  # noqa: BLE001 - every failure is the answer
        return f"error: {type(error).__name__}: {error}"


def probe(params):
    import socket

    host, port = params.get("target", "127.0.0.1:80").rsplit(":", 1)

    def connect():
        with socket.create_connection((host, int(port)), timeout=2) as sock:
            return sock.getpeername()

    def thread():
        import threading

        worker = threading.Thread(target=lambda: None)
        worker.start()
        worker.join()

    def subprocess_run():
        import subprocess

        return subprocess.run(["/bin/sh", "-c", "echo escaped"], capture_output=True).stdout

    report = {
        "control_config": attempt(lambda: len(open("/data/config.json").read())),
        "tcp": attempt(connect),
        "dns": attempt(lambda: socket.getaddrinfo("localhost", 80)),
        "read_etc_passwd": attempt(lambda: open("/etc/passwd").read()),
        "read_via_dotdot": attempt(lambda: open("/data/../etc/passwd").read()),
        "list_root": attempt(lambda: [n for n in os.listdir("/") if n != "data"] or 1 / 0),
        "thread": attempt(thread),
        "subprocess": attempt(subprocess_run),
    }
    print(json.dumps(report, sort_keys=True))


def main():
    with open(os.path.join(os.environ.get("KBC_DATADIR", "/data/"), "config.json")) as f:
        params = json.load(f).get("parameters", {})
    mode = params.get("mode")
    if mode == "probe":
        probe(params)
    elif mode == "memory":
        blocks = []
        while True:
            blocks.append(bytearray(10_000_000))
    elif mode == "spin":
        while True:
            pass
    elif mode == "sleep":
        import time

        time.sleep(3600)
    elif mode == "c_extension":
        import yaml

        print("yaml", yaml.__version__, "libyaml", yaml.__with_libyaml__)
        try:
            import yaml._yaml  # noqa: F401
        except ImportError as error:
            print(f"ImportError: {error}")
    else:
        print(f"unknown mode {mode!r}", file=sys.stderr)
        sys.exit(1)


main()
