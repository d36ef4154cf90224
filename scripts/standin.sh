#!/usr/bin/env bash
# The compute-true stand-in for the pi profile's LLM: a GGUF with exactly Qwen2.5-0.5B-Instruct's
# architecture, dimensions, vocabulary (151,936 entries, the real Qwen2 BPE tokenizer) and chat
# template, quantized to Q4_K_M by llama.cpp's own llama-quantize, with random weights. Built on
# demand, deterministically, downloading no weights; cached outside the repo. Used by the bench
# (`npm run bench -- --only standin`, bench/standin.ts); see bench/README.md.
#
#   scripts/standin.sh          # builds it if needed; prints the GGUF's path on stdout
#   scripts/standin.sh --info   # the same, then the build record (JSON)
#
# Where things come from (nothing is installed system-wide):
#  - the vocabulary and merges: llama.cpp's models/ggml-vocab-qwen2.gguf, read from the llama.cpp
#    source that node-llama-cpp ships (node_modules/node-llama-cpp/llama/gitRelease.bundle);
#  - the writer: Debian's python3-gguf (the `gguf` package), with numpy and PyYAML from this machine's
#    Python when it has them, else Debian's packages; all unpacked with `dpkg -x` into the cache;
#    python3-gguf comes from the machine's own apt sources, else from Debian sid through the private
#    apt configuration that scripts/llama-server.sh keeps;
#  - the quantizer: llama-quantize from Debian's llama.cpp-tools (scripts/llama-server.sh --tool).
# Cache: ${HEARTH_CACHE_DIR:-~/.cache/hearth}/standin (the GGUF ~400 MB; ~1 GB more while building).
set -euo pipefail

here="$(cd "$(dirname "$0")" && pwd)"
root_dir="$(cd "$here/.." && pwd)"
base="${HEARTH_CACHE_DIR:-$HOME/.cache/hearth}"
cache="$base/standin"
name="qwen2.5-0.5b-instruct-standin-q4_k_m"
gguf="$cache/$name.gguf"
record="$cache/$name.json"
py="$cache/python"

log() { echo "standin.sh: $*" >&2; }

case "$(dpkg --print-architecture 2>/dev/null || echo unknown)" in
  amd64) triplet=x86_64-linux-gnu ;;
  arm64) triplet=aarch64-linux-gnu ;;
  *) log "only Debian amd64 and arm64 are supported"; exit 1 ;;
esac

python=/usr/bin/python3
[ -x "$python" ] || python="$(command -v python3 || true)"
[ -n "$python" ] || { log "no python3"; exit 1; }

python_env() {
  export PYTHONPATH="$py/root/usr/lib/python3/dist-packages${PYTHONPATH:+:$PYTHONPATH}"
  local lib="$py/root/usr/lib/$triplet"
  export LD_LIBRARY_PATH="$lib/blas:$lib/lapack:$lib${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
}

# apt-get with the machine's sources when they have PACKAGE, else with llama-server.sh's private sid configuration.
apt_for() {
  local package="$1"
  if [ -n "$(apt-cache policy "$package" 2>/dev/null | awk '/Candidate:/ {print $2}' | grep -v none)" ]; then
    echo ""
    return
  fi
  local lcache="$base/llama-server"
  if [ ! -f "$lcache/apt/sources.list" ]; then
    log "no apt source has $package here, and scripts/llama-server.sh has no private apt configuration"
    return 1
  fi
  echo "-o Dir::Etc::sourcelist=$lcache/apt/sources.list -o Dir::Etc::sourceparts=/nonexistent -o Dir::State::lists=$lcache/apt/lists -o Dir::Cache=$py/apt-cache -o APT::Sandbox::User=$(id -un)"
}

install_python() {
  python_env
  if "$python" -c "import gguf, numpy, yaml" 2>/dev/null; then return 0; fi
  log "unpacking Debian's python3-gguf (and numpy / PyYAML if this Python lacks them) into $py"
  rm -rf "$py" && mkdir -p "$py/debs" "$py/apt-cache/archives/partial"
  local opts
  # llama-server.sh sets up the private sid configuration when the machine's suites have no llama.cpp.
  bash "$here/llama-server.sh" --install >/dev/null
  opts="$(apt_for python3-gguf)"
  # shellcheck disable=SC2086
  (cd "$py/debs" && apt-get $opts download -qq python3-gguf >&2)
  local system=()
  env -u PYTHONPATH "$python" -c "import numpy" 2>/dev/null || system+=(python3-numpy libblas3 liblapack3 libgfortran5)
  env -u PYTHONPATH "$python" -c "import yaml" 2>/dev/null || system+=(python3-yaml)
  # numpy and PyYAML are built for the machine's own Python: from the machine's own suites.
  if [ ${#system[@]} -gt 0 ]; then (cd "$py/debs" && apt-get download -qq "${system[@]}" >&2); fi
  for deb in "$py"/debs/*.deb; do dpkg -x "$deb" "$py/root"; done
  rm -rf "$py/debs" "$py/apt-cache"
  "$python" -c "import gguf, numpy, yaml" || { log "the unpacked python3-gguf does not import"; exit 1; }
}

# llama.cpp's Qwen2 vocabulary, from the llama.cpp source node-llama-cpp ships (a git bundle).
extract_vocab() {
  local out="$1" bundle="$root_dir/node_modules/node-llama-cpp/llama/gitRelease.bundle" repo="$cache/tmp/llama.cpp.git"
  [ -f "$bundle" ] || { log "$bundle not found (npm install first)"; return 1; }
  command -v git >/dev/null || { log "git is needed to read $bundle"; return 1; }
  rm -rf "$repo" && git init -q --bare "$repo"
  git -C "$repo" fetch -q "$bundle" HEAD
  git -C "$repo" show FETCH_HEAD:models/ggml-vocab-qwen2.gguf >"$out"
  git -C "$repo" rev-parse FETCH_HEAD >"$out.commit"
  rm -rf "$repo"
}

build() {
  local started=$SECONDS
  mkdir -p "$cache/tmp"
  install_python
  bash "$here/llama-server.sh" --install >/dev/null
  log "building $gguf (random weights, Q4_K_M; ~1 minute, ~1.4 GB of disk while building)"
  extract_vocab "$cache/tmp/vocab-qwen2.gguf"
  local t0=$SECONDS
  "$python" "$here/standin.py" "$cache/tmp/vocab-qwen2.gguf" "$cache/tmp/$name-f16.gguf"
  local generate=$((SECONDS - t0))
  local f16_bytes
  f16_bytes=$(stat -c %s "$cache/tmp/$name-f16.gguf")
  t0=$SECONDS
  bash "$here/llama-server.sh" --tool llama-quantize "$cache/tmp/$name-f16.gguf" "$cache/tmp/$name.gguf" Q4_K_M "$(nproc)" >"$cache/tmp/quantize.log" 2>&1 ||
    { tail -20 "$cache/tmp/quantize.log" >&2; log "llama-quantize failed"; return 1; }
  local quantize=$((SECONDS - t0))
  local types
  types=$(grep -o "converting to [A-Za-z0-9_]*" "$cache/tmp/quantize.log" | sed 's/converting to //' | sort | uniq -c | awk '{print "\"" $2 "\": " $1}' | paste -sd, -)
  local gguf_version quant_version
  gguf_version=$("$python" -c "import importlib.metadata as m; print(m.version('gguf'))" 2>/dev/null || echo unknown)
  quant_version=$(bash "$here/llama-server.sh" --version 2>&1 | grep -m1 "^version" || echo "version unknown")
  mv "$cache/tmp/$name.gguf" "$gguf"
  cat >"$record" <<EOF
{
  "file": "$gguf",
  "bytes": $(stat -c %s "$gguf"),
  "sha256": "$(sha256sum "$gguf" | cut -d' ' -f1)",
  "f16Bytes": $f16_bytes,
  "seconds": { "total": $((SECONDS - started)), "generateF16": $generate, "quantize": $quantize },
  "vocabulary": "llama.cpp models/ggml-vocab-qwen2.gguf at $(cat "$cache/tmp/vocab-qwen2.gguf.commit") (node-llama-cpp's bundled llama.cpp source), Qwen2.5's 22 added tokens named",
  "gguf": "python3-gguf $gguf_version",
  "quantizer": "llama-quantize (Debian llama.cpp-tools) $quant_version",
  "tensorTypes": { $types },
  "builtAt": "$(date -u +%Y-%m-%dT%H:%M:%SZ)"
}
EOF
  rm -rf "$cache/tmp"
  log "built in $((SECONDS - started)) s: $(du -h "$gguf" | cut -f1)"
}

mkdir -p "$cache"
[ -f "$gguf" ] && [ -f "$record" ] || build
echo "$gguf"
[ "${1:-}" = "--info" ] && cat "$record"
exit 0
