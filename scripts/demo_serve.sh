#!/usr/bin/env bash
# `make demo`'s server part: starts `quest serve` on a free loopback port with
# the default model (a base model: asked through text completions, as chat
# needs an instruction-tuned one), asks one question over HTTP,
# prints the answer and the server's metrics line for it, and stops the server.
set -euo pipefail
quest="$1"
log=$(mktemp)
"$quest" serve --host 127.0.0.1 --port 0 --parallel 2 --ctx-size 2048 2>"$log" &
pid=$!
trap 'kill "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; rm -f "$log"' EXIT
port=""
for _ in $(seq 1 600); do
  port=$(sed -n 's/^quest serve: listening on http:\/\/127.0.0.1:\([0-9]*\)$/\1/p' "$log")
  if [ -n "$port" ] && curl -sf "http://127.0.0.1:$port/health" >/dev/null; then break; fi
  kill -0 "$pid" 2>/dev/null || { cat "$log" >&2; exit 1; }
  sleep 0.2
done
echo "quest serve on port $port; POST /v1/completions:"
body='{"prompt":"Question: What is the capital of France?\nAnswer:","max_tokens":24,"stop":["\n"]}'
curl -sS "http://127.0.0.1:$port/v1/completions" -H 'Content-Type: application/json' -d "$body" |
  python3 -c 'import json,sys; r=json.load(sys.stdin); print("answer:", r["choices"][0]["text"].strip()); print("usage:", r["usage"])'
curl -sS "http://127.0.0.1:$port/metrics" | grep -E '^quest_(completion_tokens_total|decode_tokens_per_second|kv_pages_used) '
kill -TERM "$pid"
wait "$pid"
echo "quest serve stopped (exit $?)"
