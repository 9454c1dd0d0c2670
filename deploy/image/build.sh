#!/bin/sh
# The Dockerfile's build steps as plain shell (there is no container engine on the build machines):
#   sh deploy/image/build.sh OUT_DIR
# builds berth from this checkout in a scratch directory (npm ci, tsc, prune to production dependencies)
# and leaves the runtime tree in OUT_DIR: package.json, node_modules/, dist/. The Dockerfile runs this
# same script; test/clients/image.test.ts runs it and starts the result.
set -eu
out=${1:?usage: build.sh OUT_DIR}
src=$(cd "$(dirname "$0")/../.." && pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cp "$src/package.json" "$src/package-lock.json" "$src/tsconfig.json" "$src/tsconfig.web.json" "$work/"
cp -R "$src/src" "$work/src"
cd "$work"
# run from inside npm (npm test, npx), npm_config_local_prefix and friends would point npm at the caller's tree
for v in $(env | sed -n 's/^\(npm_[A-Za-z0-9_]*\)=.*/\1/p'); do unset "$v"; done
npm ci --no-audit --no-fund --loglevel=error
npm run build --silent
npm prune --omit=dev --no-audit --no-fund --loglevel=error
mkdir -p "$out"
cp package.json "$out/"
cp -R node_modules dist "$out/"
