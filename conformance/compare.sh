#!/usr/bin/env bash
# Runs berth's conformance suite against berth and against Debian's docker-registry (distribution
# 2.8.2), both fresh on 127.0.0.1, and prints the side-by-side table that conformance/README.md shows.
#   bash conformance/compare.sh [OUT_DIR]
# Exit status: 0 when berth passes every case (distribution's failures are expected and reported).
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
out=${1:-$(mktemp -d)}
mkdir -p "$out"
command -v docker-registry >/dev/null || { echo "docker-registry is not installed: apt-get install -y docker-registry" >&2; exit 2; }
work=$(mktemp -d)
pids=()
trap 'kill "${pids[@]}" 2>/dev/null || true; rm -rf "$work"' EXIT

free_port() { node -e 'const s=require("net").createServer();s.listen(0,"127.0.0.1",()=>{console.log(s.address().port);s.close()})'; }
wait_up() { for _ in $(seq 100); do curl -fs -o /dev/null "$1/v2/" && return 0; sleep 0.1; done; echo "$1 did not start" >&2; return 1; }

cd "$here"
[ -f dist/cli/main.js ] || npm run build --silent
npm run build:conformance --silent

bport=$(free_port)
node dist/cli/main.js serve --listen "127.0.0.1:$bport" --root "$work/berth" >"$work/berth.log" 2>&1 &
pids+=($!)

dport=$(free_port)
cat >"$work/distribution.yml" <<YML
version: 0.1
log: {level: warn, accesslog: {disabled: true}}
storage:
  filesystem: {rootdirectory: $work/distribution}
  delete: {enabled: true}
  redirect: {disable: true}
http:
  addr: 127.0.0.1:$dport
  secret: conformance-compare
YML
# distribution reads REGISTRY_* variables as configuration; podman's REGISTRY_AUTH_FILE breaks it.
env -u REGISTRY_AUTH_FILE docker-registry serve "$work/distribution.yml" >"$work/distribution.log" 2>&1 &
pids+=($!)

wait_up "http://127.0.0.1:$bport"
wait_up "http://127.0.0.1:$dport"

set +e
echo "== distribution 2.8.2 (its failures are reported, not counted)"
env -u BERTH_SUMMARY_FILE node conformance/dist/main.js --url "http://127.0.0.1:$dport" --json "$out/distribution.json" | sed 's/^/distribution | /'
echo "== berth"
node conformance/dist/main.js --url "http://127.0.0.1:$bport" --json "$out/berth.json"
berth_rc=$?
set -e
echo
node conformance/dist/table.js "berth=$out/berth.json" "distribution 2.8.2=$out/distribution.json" | tee "$out/table.md"
exit "$berth_rc"
