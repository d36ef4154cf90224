#!/usr/bin/env bash
# llama.cpp's llama-server, from Debian's own packages, for the remote-engine tests and bench
# (a real OpenAI-compatible LLM server that Hearth uses as its remote LLM).
#
#   scripts/llama-server.sh --install   # make sure it is there; prints the command that runs it
#   scripts/llama-server.sh ARGS...     # runs llama-server ARGS... (exec: the PID is llama-server's)
#   scripts/llama-server.sh --tool NAME ARGS...   # another program of the same packages, e.g. llama-quantize
#
# A llama-server on the PATH is used as it is. Otherwise the packages (llama.cpp-tools, libllama0,
# libggml0) are fetched with `apt-get download` and unpacked with `dpkg -x` into a private folder,
# ${HEARTH_CACHE_DIR:-~/.cache/hearth}/llama-server: nothing is installed system-wide. The machine's
# own apt sources are tried first; Debian 12 (bookworm) has no llama.cpp, so then a private apt
# configuration (under that folder) points at Debian sid, and the C/C++ runtime those packages were
# built against (glibc, libstdc++, libgomp, OpenSSL) is unpacked beside them and used through its own
# dynamic loader. Idempotent: a finished install is reused (delete the folder to refresh it).
set -euo pipefail

cache="${HEARTH_CACHE_DIR:-$HOME/.cache/hearth}/llama-server"
root="$cache/root"
launcher="$cache/llama-server"
llama_packages=(llama.cpp-tools libllama0 libggml0)
runtime_packages=(libc6 libstdc++6 libgcc-s1 libgomp1 libssl3t64 zlib1g libzstd1)

case "$(dpkg --print-architecture 2>/dev/null || echo unknown)" in
  amd64) triplet=x86_64-linux-gnu loader=ld-linux-x86-64.so.2 ;;
  arm64) triplet=aarch64-linux-gnu loader=ld-linux-aarch64.so.1 ;;
  *) echo "llama-server.sh: only Debian amd64 and arm64 are supported" >&2; exit 1 ;;
esac

install() {
  if [ -x "$launcher" ]; then return 0; fi
  if command -v llama-server >/dev/null 2>&1; then
    mkdir -p "$cache"
    printf '#!/bin/sh\nexec %s "$@"\n' "$(command -v llama-server)" >"$launcher.tmp"
    chmod +x "$launcher.tmp" && mv "$launcher.tmp" "$launcher"
    return 0
  fi
  echo "llama-server.sh: fetching llama.cpp's Debian packages into $cache" >&2
  rm -rf "$cache" && mkdir -p "$cache/debs"
  local apt_opts=() private=0
  if [ -z "$(apt-cache policy llama.cpp-tools 2>/dev/null | awk '/Candidate:/ {print $2}' | grep -v none)" ]; then
    # Not in this release's suites: a private apt configuration for sid, used only by this script.
    private=1
    mkdir -p "$cache/apt/lists/partial" "$cache/apt/cache/archives/partial"
    echo "deb [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] http://deb.debian.org/debian sid main" >"$cache/apt/sources.list"
    apt_opts=(-o "Dir::Etc::sourcelist=$cache/apt/sources.list" -o "Dir::Etc::sourceparts=/nonexistent"
      -o "Dir::State::lists=$cache/apt/lists" -o "Dir::Cache=$cache/apt/cache" -o "APT::Sandbox::User=$(id -un)")
    apt-get "${apt_opts[@]}" update -qq >&2
  fi
  local packages=("${llama_packages[@]}")
  [ "$private" = 1 ] && packages+=("${runtime_packages[@]}")
  (cd "$cache/debs" && apt-get "${apt_opts[@]}" download -qq "${packages[@]}" >&2)
  mkdir -p "$root.tmp"
  for deb in "$cache"/debs/*.deb; do dpkg -x "$deb" "$root.tmp"; done
  local lib="$root/usr/lib/$triplet"
  # ggml looks for its CPU backends beside the executable, which is the dynamic loader when it is run through it.
  for backend in "$root.tmp/usr/lib/$triplet"/ggml/backends0/*.so; do ln -sf "ggml/backends0/$(basename "$backend")" "$root.tmp/usr/lib/$triplet/"; done
  mv "$root.tmp" "$root"
  if [ "$private" = 1 ]; then
    printf '#!/bin/sh\nexec %s --library-path %s %s "$@"\n' "$lib/$loader" "$lib:$lib/llama" "$root/usr/bin/llama-server" >"$launcher.tmp"
  else
    printf '#!/bin/sh\nLD_LIBRARY_PATH=%s exec %s "$@"\n' "$lib:$lib/llama" "$root/usr/bin/llama-server" >"$launcher.tmp"
  fi
  chmod +x "$launcher.tmp"
  "$launcher.tmp" --version >/dev/null 2>&1 || { echo "llama-server.sh: the unpacked llama-server does not run" >&2; exit 1; }
  mv "$launcher.tmp" "$launcher"
  rm -rf "$cache/debs" "$cache/apt/cache"
}

install
if [ "${1:-}" = "--tool" ]; then
  # The launcher runs .../llama-server "$@": the same command line with another program of llama.cpp-tools.
  tool="${2:?--tool needs a program name, e.g. llama-quantize}"
  shift 2
  case "$tool" in */* | "") echo "llama-server.sh: --tool takes a program name" >&2; exit 2 ;; esac
  tool_launcher="$cache/$tool"
  if [ ! -x "$tool_launcher" ]; then
    sed "s#/llama-server \"\\\$@\"#/$tool \"\\\$@\"#" "$launcher" >"$tool_launcher.tmp"
    chmod +x "$tool_launcher.tmp"
    if ! grep -q "/$tool \"" "$tool_launcher.tmp"; then rm -f "$tool_launcher.tmp"; echo "llama-server.sh: cannot derive a launcher for $tool" >&2; exit 1; fi
    mv "$tool_launcher.tmp" "$tool_launcher"
  fi
  exec "$tool_launcher" "$@"
fi
if [ "${1:-}" = "--install" ]; then
  echo "$launcher"
  exit 0
fi
exec "$launcher" "$@"
