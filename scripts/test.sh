#!/usr/bin/env bash
# `npm test`: installs what the tests need, copies the test model profile, runs bun test.
# HEARTH_MODELS_FROM must name the folder holding the fixture models (../shared/models in CI).
set -uo pipefail
cd "$(dirname "$0")/.."
bash scripts/test-deps.sh || exit 1
export HEARTH_TEST_MODELS_DIR="${HEARTH_TEST_MODELS_DIR:-${TMPDIR:-/tmp}/hearth-test-models}"
if [ -z "${HEARTH_MODELS_FROM:-}" ]; then
  echo "HEARTH_MODELS_FROM is not set: point it at the folder with the test models (e.g. ../shared/models)" >&2
  exit 1
fi
HEARTH_MODELS_DIR="$HEARTH_TEST_MODELS_DIR" bun scripts/fetch-models.ts --profile test || exit 1
log=$(mktemp)
bun test --timeout 120000 "$@" 2>&1 | tee "$log"
status=${PIPESTATUS[0]}
passed=$(grep -Eo '^ *[0-9]+ pass$' "$log" | tail -1 | grep -Eo '[0-9]+')
failed=$(grep -Eo '^ *[0-9]+ fail$' "$log" | tail -1 | grep -Eo '[0-9]+')
rm -f "$log"
echo "${passed:-0} passed, ${failed:-0} failed"
exit "$status"
