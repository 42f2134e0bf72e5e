#!/usr/bin/env bash
# Makes sure a Docker daemon answers, for the Docker executor's tests.
#
# Idempotent: when `docker info` already works, does nothing. Otherwise starts `dockerd` in the
# background (as root, without systemd; it starts its own containerd), with its log in a temp
# file, and waits up to ~30 s for the API to answer. Exits non-zero, printing the log's tail,
# when the daemon cannot be started; prints the daemon's pid and log path when it started one.
set -euo pipefail

if docker info >/dev/null 2>&1; then
    echo "start-dockerd: a Docker daemon already answers"
    exit 0
fi
if ! command -v dockerd >/dev/null 2>&1; then
    echo "start-dockerd: dockerd is not installed (apt-get install docker.io)" >&2
    exit 1
fi

log="$(mktemp -t berth-dockerd.XXXXXX.log)"
nohup dockerd >"$log" 2>&1 </dev/null &
pid=$!
for _ in $(seq 1 150); do
    if docker info >/dev/null 2>&1; then
        echo "start-dockerd: dockerd started (pid $pid, log $log)"
        exit 0
    fi
    if ! kill -0 "$pid" 2>/dev/null; then
        break
    fi
    sleep 0.2
done
echo "start-dockerd: dockerd did not answer within 30 s; last lines of $log:" >&2
tail -n 20 "$log" >&2 || true
exit 1
