#!/usr/bin/env bash
# Installs the Debian packages the test suite drives for real: sox/lame/ffmpeg and friends make
# audio fixtures, festival speaks test prompts (its HTS voice is clear enough for Whisper), mosquitto is the external MQTT broker, chromium runs the console tests, and
# systemd provides systemd-analyze. Run as root (CI is); otherwise it says what is missing.
set -euo pipefail
packages=(sox libsox-fmt-all lame flac opus-tools vorbis-tools ffmpeg mosquitto chromium systemd tar bzip2 python3 festival festvox-us-slt-hts)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
# llama.cpp's llama-server for the remote-engine tests: Debian's packages unpacked into
# ~/.cache/hearth/llama-server by scripts/llama-server.sh (no root, nothing installed system-wide).
bash "$(dirname "$0")/llama-server.sh" --install >/dev/null || { echo "cannot set up llama-server (scripts/llama-server.sh)" >&2; exit 1; }
[ ${#missing[@]} -eq 0 ] && exit 0
if [ "$(id -u)" != 0 ]; then
  echo "test dependencies missing: ${missing[*]}" >&2
  echo "install them with: sudo apt-get install -y ${missing[*]}" >&2
  exit 1
fi
echo "installing test dependencies: ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
# the mosquitto package starts a system broker on 1883 where systemd runs; tests start their own
if command -v systemctl >/dev/null && systemctl is-active --quiet mosquitto 2>/dev/null; then systemctl stop mosquitto || true; fi
