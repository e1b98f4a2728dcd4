#!/usr/bin/env bash
# The README's first command on a fresh clone, timed step by step: set-up, init, the first
# refresh of the default manifest (the starter graph), the web app answering on its port; then a
# second refresh (it must change nothing). Prints each time and the stats, last line one JSON
# object. Set-up time depends on pip's cache (torch is ~3 GB on a first install).
#   bash bench/first_command.sh [clone dir, default a new temporary one] [port, default 5077]
set -euo pipefail
repo="$(cd "$(dirname "$0")/.." && pwd)"
dest="${1:-$(mktemp -d /tmp/stakegraph-first-XXXXXX)/clone}"
port="${2:-5077}"
rm -rf "$dest"
git clone -q "$repo" "$dest"
cd "$dest"
export STAKEGRAPH_HOME="$dest/var"
load() { cut -d' ' -f1 /proc/loadavg; }
echo "load average at the start: $(load)"
t0=$(date +%s.%N)
bash .ci/setup > setup.log 2>&1
t1=$(date +%s.%N)
.venv/bin/stakegraph init > init.log 2>&1
t2=$(date +%s.%N)
.venv/bin/stakegraph refresh > refresh.log 2>&1
t3=$(date +%s.%N)
.venv/bin/stakegraph serve --port "$port" > serve.log 2>&1 &
server=$!
trap 'kill $server 2>/dev/null || true' EXIT
until curl -s -o /dev/null "http://127.0.0.1:$port/login"; do
  kill -0 $server 2>/dev/null || { echo "the server stopped: see $dest/serve.log" >&2; exit 1; }
  sleep 0.5
done
t4=$(date +%s.%N)
s5=$(date +%s.%N)
second="$(.venv/bin/stakegraph refresh --json | tail -1)"
t5=$(date +%s.%N)
stats="$(.venv/bin/stakegraph stats --json | tail -1)"
f() { python3 -c "print(round($1 - $2, 1))"; }
echo "set-up $(f "$t1" "$t0") s, init $(f "$t2" "$t1") s, first refresh $(f "$t3" "$t2") s, web app answering after $(f "$t4" "$t3") s"
echo "whole first command $(f "$t4" "$t0") s; second refresh $(f "$t5" "$s5") s; load average at the end: $(load)"
python3 - "$second" "$stats" <<EOF
import json, sys
second, stats = json.loads(sys.argv[1]), json.loads(sys.argv[2])
print(json.dumps({"setup_s": $(f "$t1" "$t0"), "init_s": $(f "$t2" "$t1"), "refresh_s": $(f "$t3" "$t2"),
                  "serve_s": $(f "$t4" "$t3"), "first_command_s": $(f "$t4" "$t0"), "second_refresh_s": $(f "$t5" "$s5"),
                  "second_refresh_changes": second.get("added", 0) + second.get("changed", 0) + second.get("unseen", 0),
                  "Organization": stats.get("Organization"), "Person": stats.get("Person"), "HAS_ROLE": stats.get("HAS_ROLE")}))
EOF
