#!/usr/bin/env bash
# Installs (or upgrades, or removes) Hearth as a systemd service on Raspberry Pi OS / Debian.
#
#   sudo scripts/install-pi.sh                  install or upgrade from this checkout
#   sudo scripts/install-pi.sh --profile pi     choose the model profile instead of going by board and RAM
#   scripts/install-pi.sh --dry-run             print every step, change nothing
#   sudo scripts/install-pi.sh --uninstall      remove service and code; keep models, roles, config
#   sudo scripts/install-pi.sh --uninstall --purge   ...and /var/lib/hearth, /etc/hearth, the user
#
# Offline classroom: sudo HEARTH_MODELS_FROM=/media/pi/STICK/hearth-models scripts/install-pi.sh
# takes the model files from that folder instead of the internet.
#
# Idempotent: running it again upgrades the code, keeps /etc/hearth/config.toml and the
# downloaded models, and restarts the service. See docs/appliance.md.
set -euo pipefail

REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
PREFIX=/opt/hearth
# HEARTH_INSTALL_ETC, HEARTH_INSTALL_MEMINFO, HEARTH_INSTALL_BOARD_MODEL (a file holding the
# device-tree model string) and HEARTH_INSTALL_NODE (the node to check) exist for the tests
# (with --dry-run): they let them show the "config kept", "profile by board and RAM" and
# "Node.js too old" decisions without touching /etc or being on a Pi.
ETC_DIR=${HEARTH_INSTALL_ETC:-/etc/hearth}
CONFIG=$ETC_DIR/config.toml
STATE_DIR=/var/lib/hearth
MODELS_DIR=$STATE_DIR/models
SERVICE_USER=hearth
UNIT_NAME=hearth.service
UNIT_FILE=/etc/systemd/system/$UNIT_NAME
DROPIN_DIR=/etc/systemd/system/$UNIT_NAME.d
MEMINFO=${HEARTH_INSTALL_MEMINFO:-/proc/meminfo}
NODE=${HEARTH_INSTALL_NODE:-node}
# Oldest Node.js the dependencies run on (Debian 12 / Raspberry Pi OS Bookworm's apt has 18).
NODE_MIN_MAJOR=20
# MemoryMax= per model profile (the unit's own default, 1800M, fits "pi").
declare -A MEMORY_MAX=([pi]=1800M [pi-yue]=1800M [pi-8gb]=4G [test]=1G)

DRY_RUN=0
UNINSTALL=0
PURGE=0
PROFILE=""
# The parent password written into a new config.toml; printed once, at the very end.
GENERATED_PASSWORD=""

usage() {
  sed -n '2,14p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'
}

while [ $# -gt 0 ]; do
  case "$1" in
    --dry-run) DRY_RUN=1 ;;
    --uninstall) UNINSTALL=1 ;;
    --purge) PURGE=1 ;;
    --profile) [ $# -ge 2 ] || { echo "--profile needs a value (pi, pi-8gb, pi-yue or test)" >&2; exit 2; }; PROFILE=$2; shift ;;
    --profile=*) PROFILE=${1#--profile=} ;;
    -h | --help) usage; exit 0 ;;
    *) echo "unknown option: $1 (see --help)" >&2; exit 2 ;;
  esac
  shift
done
if [ "$PURGE" = 1 ] && [ "$UNINSTALL" = 0 ]; then
  echo "--purge only goes with --uninstall" >&2
  exit 2
fi

# ---------------------------------------------------------------------------- output helpers

step() { printf '\n==> %s\n' "$*"; }
info() { printf '    %s\n' "$*"; }
warn() { printf '    WARNING: %s\n' "$*" >&2; }
die() { printf '\nERROR: %s\n' "$*" >&2; exit 1; }

# run CMD...: print it, and run it unless --dry-run.
run() {
  if [ "$DRY_RUN" = 1 ]; then
    printf '    [dry-run] would run: %s\n' "$(printf '%q ' "$@")"
  else
    printf '    $ %s\n' "$(printf '%q ' "$@")"
    "$@"
  fi
}

# write_file PATH MODE OWNER:GROUP < content
write_file() {
  local path=$1 mode=$2 owner=$3 tmp
  if [ "$DRY_RUN" = 1 ]; then
    printf '    [dry-run] would write %s (mode %s, %s):\n' "$path" "$mode" "$owner"
    sed 's/^/        | /'
    return
  fi
  tmp=$(mktemp)
  cat >"$tmp"
  install -D -m "$mode" -o "${owner%%:*}" -g "${owner##*:}" "$tmp" "$path"
  rm -f "$tmp"
  info "wrote $path"
}

# ---------------------------------------------------------------------------- TOML (flat keys only)

# toml_get SECTION KEY FILE: the value of `key = value` in [section], quotes removed.
toml_get() {
  awk -v sec="$1" -v key="$2" '
    /^[[:space:]]*\[/ { cur = $0; gsub(/^[[:space:]]*\[|\][[:space:]]*(#.*)?$/, "", cur); next }
    cur == sec && $0 ~ "^[[:space:]]*" key "[[:space:]]*=" {
      v = $0; sub(/^[^=]*=[[:space:]]*/, "", v); sub(/[[:space:]]+#.*$/, "", v); sub(/[[:space:]]+$/, "", v)
      gsub(/^"|"$/, "", v); print v; exit
    }' "$3"
}

# toml_set SECTION KEY VALUE (a TOML literal, e.g. "\"pi\""): filter stdin to stdout.
toml_set() {
  awk -v sec="$1" -v key="$2" -v val="$3" '
    /^[[:space:]]*\[/ { cur = $0; gsub(/^[[:space:]]*\[|\][[:space:]]*(#.*)?$/, "", cur) }
    !done && cur == sec && $0 ~ "^[[:space:]]*" key "[[:space:]]*=" { print key " = " val; done = 1; next }
    { print }
    END { if (!done) { print "no " key " in [" sec "]" > "/dev/stderr"; exit 3 } }'
}

# ---------------------------------------------------------------------------- facts

lan_ipv4() {
  local ip=""
  if command -v hostname >/dev/null; then
    ip=$(hostname -I 2>/dev/null | tr ' ' '\n' | grep -E '^[0-9]+(\.[0-9]+){3}$' | grep -v '^127\.' | head -n 1 || true)
  fi
  if [ -z "$ip" ] && command -v ip >/dev/null; then
    ip=$(ip -4 -o addr show scope global 2>/dev/null | awk '{ split($4, a, "/"); print a[1]; exit }')
  fi
  echo "${ip:-127.0.0.1}"
}

systemd_version() {
  systemctl --version 2>/dev/null | awk 'NR == 1 { print $2 + 0 }'
}

service_user_exists() { id -u "$SERVICE_USER" >/dev/null 2>&1; }

# The board's model string from the device tree ("Raspberry Pi 4 Model B Rev 1.4"), or nothing
# on a machine without one (a PC, a VM). Prints "MODEL<TAB>FILE".
board_model() {
  local f
  for f in ${HEARTH_INSTALL_BOARD_MODEL:-/proc/device-tree/model /sys/firmware/devicetree/base/model}; do
    if [ -r "$f" ]; then
      printf '%s\t%s\n' "$(tr -d '\0' <"$f")" "$f"
      return
    fi
  done
}

# node_major VERSION: 20 for "v20.11.1", "20.19.2+dfsg-1" or "1:20.1.0"; empty if none.
node_major() {
  local v=${1#v}
  v=${v#*:}
  printf '%s\n' "${v%%.*}" | grep -E '^[0-9]+$' || true
}

# new_password: 20 characters from an alphabet without look-alikes (no 0/o, 1/l/i), in groups of 5
# so it is easy to copy from the screen: 31^20, about 99 random bits.
new_password() {
  local raw=""
  while [ ${#raw} -lt 20 ]; do
    raw+=$(head -c 256 /dev/urandom | LC_ALL=C tr -dc 'abcdefghjkmnpqrstuvwxyz23456789')
  done
  printf '%s-%s-%s-%s\n' "${raw:0:5}" "${raw:5:5}" "${raw:10:5}" "${raw:15:5}"
}

NODE_HELP="install Node.js $NODE_MIN_MAJOR or newer from nodejs.org (the Linux ARM64 or x64 binary) or from your distribution's backports, check that 'node --version' prints v$NODE_MIN_MAJOR or later, then run this installer again"

# ---------------------------------------------------------------------------- uninstall

uninstall() {
  step "Stopping and disabling $UNIT_NAME"
  if [ -f "$UNIT_FILE" ] || systemctl cat "$UNIT_NAME" >/dev/null 2>&1; then
    run systemctl disable --now "$UNIT_NAME"
  else
    info "$UNIT_NAME is not installed"
  fi
  step "Removing the unit file and its drop-ins"
  run rm -f "$UNIT_FILE"
  run rm -rf "$DROPIN_DIR"
  run systemctl daemon-reload
  run systemctl reset-failed "$UNIT_NAME" 2>/dev/null || true
  step "Removing the code in $PREFIX"
  run rm -rf "$PREFIX" "$PREFIX.new" "$PREFIX.old"
  if [ "$PURGE" = 1 ]; then
    step "Purging models, roles, tokens, history ($STATE_DIR) and configuration ($ETC_DIR)"
    run rm -rf "$STATE_DIR" "$ETC_DIR"
    if service_user_exists || [ "$DRY_RUN" = 1 ]; then
      run userdel "$SERVICE_USER"
    fi
  else
    local kept=kept
    [ "$DRY_RUN" = 1 ] && kept="would keep"
    step "Keeping your data"
    info "$kept $STATE_DIR (models, roles.json, toy tokens, history) and $ETC_DIR (config.toml)"
    info "$kept the $SERVICE_USER user; remove all of it with: sudo $0 --uninstall --purge"
  fi
  info "apt packages (nodejs npm tar bzip2 ca-certificates) were left installed: other software may use them."
  if [ "$DRY_RUN" = 1 ]; then step "Dry run finished: nothing was changed"; else step "Hearth is uninstalled"; fi
}

# ---------------------------------------------------------------------------- install steps

preflight() {
  step "Checking this machine"
  if ! grep -qs '"name": "hearth"' "$REPO/package.json" || [ ! -f "$REPO/systemd/$UNIT_NAME" ]; then
    die "run this script from a Hearth checkout (sudo scripts/install-pi.sh); $REPO is not one"
  fi
  info "source: $REPO"
  if [ "$(id -u)" != 0 ]; then
    if [ "$DRY_RUN" = 1 ]; then info "not root: fine for --dry-run; the real run needs sudo"; else die "run as root: sudo $0"; fi
  fi
  [ -f /etc/debian_version ] || die "this installer is for Raspberry Pi OS / Debian (no /etc/debian_version)"
  local arch
  arch=$(uname -m)
  case "$arch" in
    aarch64 | arm64 | x86_64 | amd64) info "OS: $(grep -oP '^PRETTY_NAME="?\K[^"]*' /etc/os-release || echo Debian), $arch" ;;
    armv6l | armv7l) die "this is a 32-bit system ($arch); Bun only runs on 64-bit: install the 64-bit Raspberry Pi OS" ;;
    *) die "unsupported CPU architecture $arch (need aarch64 or x86_64)" ;;
  esac
  if [ ! -d /run/systemd/system ]; then
    if [ "$DRY_RUN" = 1 ]; then
      warn "systemd is not running here (a container?): the real run needs it"
    else
      die "systemd is not running (no /run/systemd/system); Hearth is installed as a systemd service"
    fi
  fi
  local free_kb
  free_kb=$(df -Pk "$(dirname "$STATE_DIR")" | awk 'NR == 2 { print $4 }')
  if [ -n "$free_kb" ] && [ "$free_kb" -lt $((3 * 1024 * 1024)) ]; then
    warn "only $((free_kb / 1024)) MB free under $(dirname "$STATE_DIR"); models and packages need about 3 GB"
  fi
}

install_packages() {
  step "Installing missing apt packages"
  local missing=()
  check_node
  command -v "$NODE" >/dev/null || missing+=(nodejs)
  command -v npm >/dev/null || missing+=(npm) # NodeSource's nodejs ships npm itself: never add Debian's on top
  local p
  # ffmpeg: phone recordings (m4a/AAC, AIFF, AMR) uploaded for transcription have no WASM decoder
  for p in tar bzip2 ca-certificates ffmpeg; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
  done
  if [ ${#missing[@]} -eq 0 ]; then
    info "all present: node $("$NODE" --version), npm $(npm --version), tar, bzip2, ca-certificates, ffmpeg"
    return
  fi
  info "missing: ${missing[*]}"
  run apt-get update
  run env DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "${missing[@]}"
}

# Node.js must be NODE_MIN_MAJOR or newer: the installed one, or else the one apt would install.
# Too old stops a real run before anything is changed; a dry run says so and goes on.
check_node() {
  local version major where
  if command -v "$NODE" >/dev/null; then
    version=$("$NODE" --version 2>/dev/null || true)
    where="the installed Node.js ($(command -v "$NODE"))"
  else
    version=$(apt-cache policy nodejs 2>/dev/null | awk '/Candidate:/ { print $2; exit }')
    [ "$version" = "(none)" ] && version=""
    where="the Node.js apt would install (package nodejs)"
  fi
  major=$(node_major "$version")
  if [ -n "$major" ] && [ "$major" -ge "$NODE_MIN_MAJOR" ]; then
    info "Node.js: $where is ${version:-?}: fine (Hearth needs $NODE_MIN_MAJOR or newer)"
    return
  fi
  local problem="$where is ${version:-not available}, but Hearth's dependencies need Node.js $NODE_MIN_MAJOR or newer (Debian 12 / Raspberry Pi OS Bookworm's apt has 18)"
  if [ "$DRY_RUN" = 1 ]; then
    warn "$problem. A real run stops here: $NODE_HELP."
  else
    die "$problem: $NODE_HELP."
  fi
}

create_user() {
  step "Creating the '$SERVICE_USER' system user and its state folder $STATE_DIR"
  if service_user_exists; then
    info "user $SERVICE_USER exists"
  else
    run useradd --system --user-group --home-dir "$STATE_DIR" --no-create-home \
      --shell /usr/sbin/nologin --comment "Hearth voice appliance" "$SERVICE_USER"
  fi
  run install -d -m 0750 -o "$SERVICE_USER" -g "$SERVICE_USER" "$STATE_DIR" "$MODELS_DIR"
  run install -d -m 0755 -o root -g root "$ETC_DIR"
}

# Sets PROFILE (and says why): --profile, else the kept config's, else by board and RAM:
# a Raspberry Pi 4 gets "pi" whatever its RAM (its CPU is too slow for the 1.5B model in a
# conversation), a Raspberry Pi 5 with 8 GB or more "pi-8gb", any other board goes by RAM.
choose_profile() {
  step "Choosing the model profile"
  local kb gb board board_file auto
  kb=$(awk '/^MemTotal:/ { print $2 }' "$MEMINFO")
  gb=$(awk -v kb="$kb" 'BEGIN { printf "%.1f", kb / 1024 / 1024 }')
  IFS=$'\t' read -r board board_file < <(board_model) || true
  if [ -n "$board" ]; then
    info "board: $board (from $board_file)"
  else
    info "board: unknown (no device-tree model in /proc/device-tree/model or /sys/firmware/devicetree/base/model): choosing by RAM"
  fi
  # 8 GB boards report a MemTotal of about 7.6-7.9 GB, 4 GB boards about 3.7-3.9 GB: 6 GB splits them.
  case "$board" in
    "Raspberry Pi 4"* | "Raspberry Pi 400"* | "Raspberry Pi Compute Module 4"*)
      auto=pi
      info "RAM: $gb GB (MemTotal $kb kB); a Raspberry Pi 4 -> profile 'pi' (Qwen2.5-0.5B) whatever its RAM: its CPU is too slow for the 1.5B model in a conversation"
      ;;
    "Raspberry Pi 5"* | "Raspberry Pi 500"* | "Raspberry Pi Compute Module 5"*)
      if [ "$kb" -lt $((6 * 1024 * 1024)) ]; then
        auto=pi
        info "RAM: $gb GB (MemTotal $kb kB); a Raspberry Pi 5 with less than 8 GB -> profile 'pi' (Qwen2.5-0.5B)"
      else
        auto=pi-8gb
        info "RAM: $gb GB (MemTotal $kb kB); a Raspberry Pi 5 with 8 GB or more -> profile 'pi-8gb' (the larger Qwen2.5-1.5B)"
      fi
      ;;
    *)
      if [ -n "$board" ]; then info "not a Raspberry Pi 4 or 5: choosing by RAM"; fi
      if [ "$kb" -lt $((6 * 1024 * 1024)) ]; then
        auto=pi
        info "RAM: $gb GB (MemTotal $kb kB) is below 6 GB -> profile 'pi' (Qwen2.5-0.5B: fits a 2-4 GB board)"
      else
        auto=pi-8gb
        info "RAM: $gb GB (MemTotal $kb kB) is 6 GB or more -> profile 'pi-8gb' (the larger Qwen2.5-1.5B)"
      fi
      ;;
  esac
  if [ -n "$PROFILE" ]; then
    info "using profile '$PROFILE' as asked with --profile (board and RAM alone would pick '$auto')"
  elif [ -f "$CONFIG" ]; then
    PROFILE=$(toml_get models profile "$CONFIG")
    info "keeping profile '$PROFILE' from your $CONFIG (board and RAM alone would pick '$auto'; change it with --profile)"
  else
    PROFILE=$auto
    info "using profile '$PROFILE'"
  fi
  local manifest=$REPO/models/manifest.json
  if [ -f "$manifest" ] && ! grep -q "\"$PROFILE\"" "$manifest"; then
    die "profile '$PROFILE' is not in $manifest"
  fi
  case "$PROFILE" in pi | pi-8gb | pi-yue | test) ;; *) warn "'$PROFILE' is not one of pi, pi-8gb, pi-yue, test" ;; esac
}

copy_code() {
  local stage=$PREFIX.new
  step "Copying the code to $PREFIX (without node_modules, .git and model files)"
  run rm -rf "$stage"
  run install -d -m 0755 "$stage"
  if [ "$DRY_RUN" = 1 ]; then
    info "[dry-run] would run: tar -C $REPO --exclude=./node_modules --exclude=./.git --exclude=./models --exclude=./.state -cf - . | tar -C $stage -xf -"
  else
    info "\$ tar -C $REPO ... -cf - . | tar -C $stage -xf -"
    tar -C "$REPO" --exclude=./node_modules --exclude=./.git --exclude=./models --exclude=./.state --exclude='*.log' -cf - . |
      tar -C "$stage" --no-same-owner -xf -
  fi
  # The manifest (what to download) is code; the model files themselves are not.
  run install -d -m 0755 "$stage/models"
  local f
  for f in manifest.json README.md; do
    if [ -f "$REPO/models/$f" ]; then run install -m 0644 "$REPO/models/$f" "$stage/models/$f"; fi
  done
  run chown -R root:root "$stage"
  run chmod -R u=rwX,go=rX "$stage"

  step "Installing the runtime dependencies (npm ci --omit=dev; Bun comes from npm)"
  run env -C "$stage" npm ci --omit=dev --no-audit --no-fund
  run "$stage/node_modules/.bin/bun" --version
}

write_config() {
  step "Configuration $CONFIG"
  if [ -f "$CONFIG" ]; then
    info "$CONFIG exists: kept (your settings survive upgrades)"
    if [ "$(toml_get models profile "$CONFIG")" != "$PROFILE" ]; then
      info "setting [models] profile = \"$PROFILE\" in it, as asked with --profile"
      if [ "$DRY_RUN" = 0 ]; then
        local updated
        updated=$(toml_set models profile "\"$PROFILE\"" <"$CONFIG")
        printf '%s\n' "$updated" | write_file "$CONFIG" 0640 "root:$SERVICE_USER"
      fi
    fi
    if [ -z "$(toml_get console password "$CONFIG")" ]; then
      warn "no parent password in it ([console] password): anyone on your network can open the web console; see the end of this output"
    fi
    return
  fi
  info "new file from $REPO/config.toml with [state] dir = \"$STATE_DIR\", [models] dir = \"$MODELS_DIR\", [models] profile = \"$PROFILE\""
  local password="(a new random password)"
  if [ "$DRY_RUN" = 1 ]; then
    info "[dry-run] would set [console] password to a new random parent password for the web console (a real run prints it once, at the end)"
  else
    GENERATED_PASSWORD=$(new_password)
    password=$GENERATED_PASSWORD
    info "and a new random parent password for the web console in [console] password (printed once, at the end)"
  fi
  {
    echo "# Written by scripts/install-pi.sh on $(date -u +%Y-%m-%d). Kept on upgrades: edit freely,"
    echo "# then: sudo systemctl restart hearth"
    echo
    toml_set state dir "\"$STATE_DIR\"" <"$REPO/config.toml" |
      toml_set models dir "\"$MODELS_DIR\"" |
      toml_set models profile "\"$PROFILE\"" |
      toml_set console password "\"$password\""
  } | if [ "$DRY_RUN" = 1 ]; then
    printf '    [dry-run] would write %s (mode 0640, root:%s)\n' "$CONFIG" "$SERVICE_USER"
    cat >/dev/null
  else
    write_file "$CONFIG" 0640 "root:$SERVICE_USER"
  fi
}

# The new code reads the (possibly kept) config before anything is swapped or restarted.
check_config() {
  step "Checking $CONFIG with the new code"
  local stage=$PREFIX.new
  run env -C "$stage" "$stage/node_modules/.bin/bun" -e "(await import('./src/config/load.ts')).loadConfig('$CONFIG')"
}

swap_code() {
  step "Putting the new code in place"
  if [ -d "$PREFIX" ]; then
    run rm -rf "$PREFIX.old"
    run mv "$PREFIX" "$PREFIX.old"
  fi
  run mv "$PREFIX.new" "$PREFIX"
  if [ -d "$PREFIX.old" ] || [ "$DRY_RUN" = 1 ]; then run rm -rf "$PREFIX.old"; fi
}

fetch_models() {
  step "Fetching the models of profile '$PROFILE' into $MODELS_DIR (as user $SERVICE_USER)"
  local from=${HEARTH_MODELS_FROM:-}
  local as_user=(runuser -u "$SERVICE_USER" --) from_args=()
  if [ -n "$from" ]; then
    [ -d "$from" ] || die "HEARTH_MODELS_FROM=$from is not a folder"
    from=$(cd "$from" && pwd)
    from_args=(--from "$from")
    info "taking model files from $from (HEARTH_MODELS_FROM), not the internet"
    if [ "$DRY_RUN" = 0 ] && ! runuser -u "$SERVICE_USER" -- test -r "$from" -a -x "$from"; then
      # Desktop auto-mounts (/media/<user>/...) are readable by the desktop user only.
      warn "user $SERVICE_USER cannot read $from (USB sticks are mounted for the desktop user): reading it as root and handing the files to $SERVICE_USER"
      as_user=()
    fi
  else
    info "downloading from each model's public URL (set HEARTH_MODELS_FROM=<folder> to use a USB stick)"
  fi
  # Models already installed are left alone, so an upgrade downloads nothing it has.
  run env -C "$PREFIX" "${as_user[@]}" env HOME="$STATE_DIR" \
    "$PREFIX/node_modules/.bin/bun" run setup --config "$CONFIG" --profile "$PROFILE" "${from_args[@]}"
  if [ ${#as_user[@]} -eq 0 ]; then run chown -R "$SERVICE_USER:$SERVICE_USER" "$MODELS_DIR"; fi
}

install_unit() {
  step "Installing the systemd unit $UNIT_FILE"
  run install -m 0644 "$REPO/systemd/$UNIT_NAME" "$UNIT_FILE"
  local mem=${MEMORY_MAX[$PROFILE]:-1800M}
  info "MemoryMax=$mem for profile '$PROFILE'"
  printf '# Written by scripts/install-pi.sh for model profile "%s".\n[Service]\nMemoryMax=%s\n' "$PROFILE" "$mem" |
    write_file "$DROPIN_DIR/memory.conf" 0644 root:root
  if [ -f /sys/fs/cgroup/cgroup.controllers ] && ! grep -qw memory /sys/fs/cgroup/cgroup.controllers; then
    warn "the kernel's memory cgroup is off, so MemoryMax has no effect: add 'cgroup_enable=memory' to /boot/firmware/cmdline.txt and reboot"
  fi
  local version
  version=$(systemd_version)
  if [ "${version:-0}" -ge 254 ]; then
    info "systemd $version: adding exponential restart back-off (5 s doubling up to 2 min)"
    printf '# systemd >= 254 only (unknown keys on older versions).\n[Service]\nRestartSteps=5\nRestartMaxDelaySec=120\n' |
      write_file "$DROPIN_DIR/restart-backoff.conf" 0644 root:root
  else
    info "systemd ${version:-unknown}: no RestartSteps= (needs 254); restarts every 5 s"
    run rm -f "$DROPIN_DIR/restart-backoff.conf"
  fi
  run systemctl daemon-reload
  step "Enabling and (re)starting Hearth (first start loads the models: up to 5 minutes)"
  run systemctl enable "$UNIT_NAME"
  # restart = start when stopped; for Type=notify it returns once Hearth sent READY=1.
  if ! run systemctl restart "$UNIT_NAME"; then
    journalctl -u "$UNIT_NAME" -n 40 --no-pager >&2 || true
    die "Hearth did not start; the log above says why (more: journalctl -u hearth)"
  fi
}

# wait_healthy HOST PORT
wait_healthy() {
  local url="http://$1:$2/health"
  step "Waiting for $url"
  if [ "$DRY_RUN" = 1 ]; then
    info "[dry-run] would poll $url for up to 2 minutes"
    return
  fi
  local _
  for _ in $(seq 1 60); do
    if "$PREFIX/node_modules/.bin/bun" -e "const r = await fetch('$url').catch(() => null); process.exit(r?.ok ? 0 : 1)"; then
      info "healthy"
      return
    fi
    sleep 2
  done
  journalctl -u "$UNIT_NAME" -n 40 --no-pager >&2 || true
  die "Hearth did not answer on $url; the log above says why (more: journalctl -u hearth)"
}

main() {
  if [ "$DRY_RUN" = 1 ]; then echo "Dry run: nothing will be changed."; fi
  if [ "$UNINSTALL" = 1 ]; then
    uninstall
    return
  fi
  preflight
  install_packages
  create_user
  choose_profile
  copy_code
  write_config
  check_config
  swap_code
  fetch_models
  install_unit

  # Ports come from the config Hearth will use (the repo's defaults until it is written).
  local conf=$CONFIG
  [ -f "$conf" ] || conf=$REPO/config.toml
  local host port mqtt_port mqtt_url udp_port ip
  host=$(toml_get http host "$conf")
  port=$(toml_get http port "$conf")
  mqtt_port=$(toml_get mqtt port "$conf")
  mqtt_url=$(toml_get mqtt url "$conf")
  udp_port=$(toml_get toy udp_port "$conf")
  ip=$(lan_ipv4)
  case "$host" in
    0.0.0.0 | "::" | "") wait_healthy 127.0.0.1 "$port" ;;
    *) ip=$host; wait_healthy "$host" "$port" ;;
  esac
  step "Hearth is installed"
  [ "$DRY_RUN" = 1 ] && info "(dry run: these are the addresses it would have)"
  info "Web console:      http://$ip:$port/"
  info "OpenAI API base:  http://$ip:$port/v1"
  if [ -n "$mqtt_url" ]; then
    info "MQTT for the toys: your external broker $mqtt_url ([mqtt] url in $CONFIG)"
  else
    info "MQTT for the toys: $ip:$mqtt_port   (toy audio arrives on UDP port $udp_port)"
  fi
  info "Logs: journalctl -u hearth -f     Settings: $CONFIG (then: sudo systemctl restart hearth)"
  print_password
}

# The parent password, once: only the run that created it prints it (it stays in $CONFIG, which
# only root and the hearth group can read). A kept config without one gets the lines that set one.
print_password() {
  if [ -n "$GENERATED_PASSWORD" ]; then
    echo
    info "Parent password for the web console:  $GENERATED_PASSWORD"
    info "Note it down now: it is not shown again. It is [console] password in $CONFIG;"
    info "to change it, edit that line, then: sudo systemctl restart hearth"
  elif [ "$DRY_RUN" = 1 ] && [ ! -f "$CONFIG" ]; then
    info "Parent password for the web console:  (a real install makes a new random one and prints it here, once)"
  elif [ -f "$CONFIG" ] && [ -z "$(toml_get console password "$CONFIG")" ]; then
    echo
    info "No parent password is set: anyone on your network can open the web console. To set one, add"
    info "    [console]"
    info "    password = \"<at least 8 characters>\""
    info "to $CONFIG, then: sudo systemctl restart hearth"
  fi
}

# Sourcing the file (to try single steps) defines the functions without running anything.
if [ "${BASH_SOURCE[0]}" = "$0" ]; then main; fi
