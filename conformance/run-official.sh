#!/usr/bin/env bash
# Runs the official OCI distribution-spec conformance binary (opencontainers/distribution-spec
# conformance/, built with `go test -c`) against a fresh `berth serve` on 127.0.0.1.
# It does not download or build the binary: give its path.
#
#   OCI_CONFORMANCE_BIN=/path/to/conformance.test bash conformance/run-official.sh
#
# Optional: PORT (default 5099), REPORT_DIR (default ./conformance-report), and any OCI_* variable
# the suite reads (they pass through).
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
bin=${OCI_CONFORMANCE_BIN:?set OCI_CONFORMANCE_BIN to the conformance.test binary}
[ -x "$bin" ] || { echo "not executable: $bin" >&2; exit 2; }
port=${PORT:-5099}
report=${REPORT_DIR:-$PWD/conformance-report}
root=$(mktemp -d)
trap 'kill "$pid" 2>/dev/null || true; rm -rf "$root"' EXIT

[ -f "$here/dist/cli/main.js" ] || (cd "$here" && npm run build --silent)
node "$here/dist/cli/main.js" serve --listen "127.0.0.1:$port" --root "$root" >"$root.log" 2>&1 &
pid=$!
for _ in $(seq 50); do curl -fs "http://127.0.0.1:$port/v2/" >/dev/null && break; sleep 0.1; done

mkdir -p "$report"
cd "$report"
env OCI_ROOT_URL="http://127.0.0.1:$port" \
  OCI_NAMESPACE="${OCI_NAMESPACE:-conformance/repo}" \
  OCI_CROSSMOUNT_NAMESPACE="${OCI_CROSSMOUNT_NAMESPACE:-conformance/other}" \
  OCI_TEST_PULL=1 OCI_TEST_PUSH=1 OCI_TEST_CONTENT_DISCOVERY=1 OCI_TEST_CONTENT_MANAGEMENT=1 \
  OCI_REPORT_DIR="$report" "$bin"
