#!/usr/bin/env bash
# Installs autobot-monitor as a service: the legacy installer's steps, done idempotently.
#
#   scripts/install.sh [--prefix DIR] [--with-nginx] [--enable hub|agent]... [--dry-run]
#   scripts/install.sh --uninstall [--purge] [--prefix DIR] [--dry-run]
#
# Steps: check requirements (python3 >= 3.11 with venv), system user, directories, virtualenv
# with the package (pip install of this source tree: a wheel with the dashboard assets inside),
# config (never overwriting an edited one), systemd units, logrotate, optional nginx site,
# validation.  Re-running upgrades in place and changes nothing else.
#
# Layout (PREFIX defaults to /):
#   PREFIX/opt/autobot-monitor/venv                    virtualenv, `bin/autobot-monitor`
#   PREFIX/opt/autobot-monitor/share                   the shipped default config (to spot edits)
#   PREFIX/etc/autobot-monitor/monitoring_config.yaml  hub config (+ .dist: a newer default)
#   PREFIX/etc/autobot-monitor/environment, agent.env  secrets / agent flags for the units
#   PREFIX/var/lib/autobot-monitor                     data dir: store, pid file, logs/
#   PREFIX/etc/systemd/system/autobot-monitor-{hub,agent}.service
#   PREFIX/etc/logrotate.d/autobot-monitor
#   PREFIX/etc/nginx/sites-{available,enabled}/autobot-monitor.conf   (--with-nginx)
# With --prefix the paths inside the units, logrotate file and venv point into PREFIX, no system
# user is created (files belong to you and the units name you), and systemctl is never called.
#
# Exit codes: 0 done, 1 a step failed, 2 bad usage or requirements not met.
set -euo pipefail

SRC_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
SERVICE_USER=autobot-monitor
UNIT_NAMES=(autobot-monitor-hub autobot-monitor-agent)
MIN_PY=(3 11)

PREFIX=/
PYTHON=${PYTHON:-python3}
DRY_RUN=0 UNINSTALL=0 PURGE=0 WITH_NGINX=0
ENABLE=()

usage() {
  sed -n '2,24p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'
  cat <<'EOF'
Options:
  --prefix DIR     install under DIR instead of / (for trying it out; no user, no systemctl)
  --with-nginx     also install and enable the nginx site proxying the dashboard (and /ws)
  --enable UNIT    systemctl enable --now autobot-monitor-UNIT (hub or agent; repeatable)
  --python PY      interpreter for the virtualenv (default: $PYTHON or python3)
  --dry-run        print every step without doing it
  --uninstall      remove units, logrotate, nginx site and the virtualenv; keep config and data
  --purge          with --uninstall: also remove config, data and the system user
  -h, --help       this text
EOF
}

die() { printf 'install.sh: error: %s\n' "$*" >&2; exit "${2:-2}"; }
say() { printf '==> %s\n' "$*"; }
note() { printf '    %s\n' "$*"; }
# Every change goes through run: printed always, executed unless --dry-run.
run() {
  printf '    +'; printf ' %q' "$@"; printf '\n'
  if [ "$DRY_RUN" = 0 ]; then "$@"; fi
}

while [ $# -gt 0 ]; do
  case "$1" in
    --prefix) [ $# -ge 2 ] || die "--prefix needs a directory"; PREFIX=$2; shift 2 ;;
    --prefix=*) PREFIX=${1#*=}; shift ;;
    --python) [ $# -ge 2 ] || die "--python needs an interpreter"; PYTHON=$2; shift 2 ;;
    --python=*) PYTHON=${1#*=}; shift ;;
    --enable) [ $# -ge 2 ] || die "--enable needs hub or agent"; ENABLE+=("$2"); shift 2 ;;
    --enable=*) ENABLE+=("${1#*=}"); shift ;;
    --with-nginx) WITH_NGINX=1; shift ;;
    --dry-run) DRY_RUN=1; shift ;;
    --uninstall) UNINSTALL=1; shift ;;
    --purge) PURGE=1; shift ;;
    -h|--help) usage; exit 0 ;;
    *) usage >&2; die "unknown argument: $1" ;;
  esac
done
[ "$PURGE" = 0 ] || [ "$UNINSTALL" = 1 ] || die "--purge only goes with --uninstall"
for u in "${ENABLE[@]+"${ENABLE[@]}"}"; do
  case "$u" in hub|agent) ;; *) die "--enable takes hub or agent, not '$u'" ;; esac
done

# -- layout -----------------------------------------------------------------------------------
case "$PREFIX" in
  *[!A-Za-z0-9._/+-]*) die "--prefix may only contain letters, digits and ._/+- ('$PREFIX')" ;;
esac
ROOT=$(realpath -m -- "$PREFIX"); ROOT=${ROOT%/}   # "" for /
if [ -z "$ROOT" ]; then SYSTEM=1; else SYSTEM=0; fi
OPT=$ROOT/opt/autobot-monitor
VENV=$OPT/venv
SHARE=$OPT/share
ETC=$ROOT/etc/autobot-monitor
CONF=$ETC/monitoring_config.yaml
DATA=$ROOT/var/lib/autobot-monitor
UNIT_DIR=$ROOT/etc/systemd/system
LOGROTATE_DIR=$ROOT/etc/logrotate.d
NGINX_AVAIL=$ROOT/etc/nginx/sites-available
NGINX_ENABLED=$ROOT/etc/nginx/sites-enabled
DEPLOY=$SRC_DIR/deploy
SHIPPED_CONF=$DEPLOY/config/monitoring_config.yaml

if [ "$SYSTEM" = 1 ]; then
  RUN_USER=$SERVICE_USER RUN_GROUP=$SERVICE_USER
else
  RUN_USER=$(id -un) RUN_GROUP=$(id -gn)
fi

TMP=$(mktemp -d "${TMPDIR:-/tmp}/autobot-install.XXXXXX")
trap 'rm -rf "$TMP"' EXIT

systemd_running() { [ "$SYSTEM" = 1 ] && [ -d /run/systemd/system ] && command -v systemctl >/dev/null; }

# render SRC DEST MODE: SRC with the layout's paths and user, installed as DEST when different.
render() {
  local src=$1 dest=$2 mode=$3 out
  out=$TMP/$(basename "$dest")
  sed -e "s#/opt/autobot-monitor#$OPT#g" -e "s#/etc/autobot-monitor#$ETC#g" \
      -e "s#/var/lib/autobot-monitor#$DATA#g" \
      -e "s#^User=$SERVICE_USER\$#User=$RUN_USER#" -e "s#^Group=$SERVICE_USER\$#Group=$RUN_GROUP#" \
      -e "s#^\( *su\) $SERVICE_USER $SERVICE_USER\$#\1 $RUN_USER $RUN_GROUP#" "$src" >"$out"
  if [ -f "$dest" ] && cmp -s "$out" "$dest"; then
    note "$dest is up to date"
  else
    run install -D -m "$mode" "$out" "$dest"
  fi
}

# -- uninstall --------------------------------------------------------------------------------
uninstall() {
  say "uninstalling autobot-monitor from ${ROOT:-/}"
  if [ "$SYSTEM" = 1 ] && [ "$(id -u)" != 0 ]; then die "uninstalling from / needs root"; fi
  local u
  for u in "${UNIT_NAMES[@]}"; do
    if [ -e "$UNIT_DIR/$u.service" ]; then
      if systemd_running; then run systemctl disable --now "$u.service" || true; fi
      run rm -f "$UNIT_DIR/$u.service"
    fi
  done
  if systemd_running; then run systemctl daemon-reload; fi
  [ ! -e "$LOGROTATE_DIR/autobot-monitor" ] || run rm -f "$LOGROTATE_DIR/autobot-monitor"
  if [ -e "$NGINX_ENABLED/autobot-monitor.conf" ] || [ -L "$NGINX_ENABLED/autobot-monitor.conf" ]; then
    run rm -f "$NGINX_ENABLED/autobot-monitor.conf"
  fi
  if [ -e "$NGINX_AVAIL/autobot-monitor.conf" ]; then
    run rm -f "$NGINX_AVAIL/autobot-monitor.conf"
    note "nginx site removed: reload nginx (systemctl reload nginx)"
  fi
  [ ! -e "$OPT" ] || run rm -rf "$OPT"
  if [ "$PURGE" = 1 ]; then
    [ ! -e "$ETC" ] || run rm -rf "$ETC"
    [ ! -e "$DATA" ] || run rm -rf "$DATA"
    if [ "$SYSTEM" = 1 ] && id -u "$SERVICE_USER" >/dev/null 2>&1; then run userdel "$SERVICE_USER"; fi
  else
    note "kept config $ETC and data $DATA (remove them with --uninstall --purge)"
  fi
  say "done"
}

# -- install steps ----------------------------------------------------------------------------
check_requirements() {
  say "checking requirements"
  if [ ! -f "$SRC_DIR/pyproject.toml" ] || [ ! -f "$SHIPPED_CONF" ]; then
    die "run this from an autobot-monitor source tree ($SRC_DIR has no pyproject.toml or deploy/)"
  fi
  command -v "$PYTHON" >/dev/null 2>&1 || die "$PYTHON not found: install Python ${MIN_PY[0]}.${MIN_PY[1]} or newer (or pass --python)"
  "$PYTHON" -c "import sys; sys.exit(sys.version_info < (${MIN_PY[0]}, ${MIN_PY[1]}))" \
    || die "$("$PYTHON" -V 2>&1) is too old: autobot-monitor needs Python ${MIN_PY[0]}.${MIN_PY[1]}+"
  "$PYTHON" -c "import venv, ensurepip" 2>/dev/null \
    || die "$PYTHON lacks the venv module (Debian/Ubuntu: apt-get install python3-venv)"
  note "$("$PYTHON" -V 2>&1) with venv: ok"
  if [ "$SYSTEM" = 1 ] && [ "$(id -u)" != 0 ]; then
    die "installing to / needs root (sudo $0 ...); try it out with --prefix DIR"
  fi
}

create_user() {
  say "system user"
  if [ "$SYSTEM" = 0 ]; then
    note "skipped: --prefix install (files belong to $RUN_USER; the units name $RUN_USER)"
  elif id -u "$SERVICE_USER" >/dev/null 2>&1; then
    note "$SERVICE_USER exists"
  else
    local shell=/usr/sbin/nologin
    [ -x "$shell" ] || shell=/sbin/nologin
    [ -x "$shell" ] || shell=/bin/false
    command -v useradd >/dev/null 2>&1 || die "useradd not found: create a system user $SERVICE_USER by hand" 1
    run useradd --system --user-group --home-dir "$DATA" --no-create-home --shell "$shell" \
      --comment "autobot-monitor" "$SERVICE_USER"
  fi
}

make_dirs() {
  say "directories"
  local own=()
  [ "$SYSTEM" = 0 ] || own=(-o "$RUN_USER" -g "$RUN_GROUP")
  run install -d -m 0755 "$OPT"
  if [ "$SYSTEM" = 1 ]; then run install -d -m 0750 -o root -g "$RUN_GROUP" "$ETC"
  else run install -d -m 0750 "$ETC"; fi
  run install -d -m 0750 "${own[@]+"${own[@]}"}" "$DATA" "$DATA/logs" "$DATA/logs/performance"
}

install_venv() {
  say "virtualenv and package"
  if [ -x "$VENV/bin/python" ] && "$VENV/bin/python" -c 'import sys' 2>/dev/null; then
    note "$VENV exists"
  else
    run "$PYTHON" -m venv --clear "$VENV"
  fi
  # A regular (non-editable) install builds a wheel; package-data puts the web dashboard's static
  # files inside it.  It builds from a copy so the source tree gets no build/ or egg-info.
  # PIP_* environment variables (index, cache, find-links) apply.
  local build=$TMP/source
  mkdir -p "$build"
  cp -R "$SRC_DIR/pyproject.toml" "$SRC_DIR/README.md" "$SRC_DIR/src" "$build/"
  rm -rf "$build"/src/*.egg-info
  run "$VENV/bin/python" -m pip install --disable-pip-version-check --no-warn-script-location \
    --quiet "$build"
}

install_config() {
  say "configuration"
  local mode_args=(-m 0640)
  [ "$SYSTEM" = 0 ] || mode_args+=(-o root -g "$RUN_GROUP")
  if [ ! -e "$CONF" ]; then
    run install "${mode_args[@]}" "$SHIPPED_CONF" "$CONF"
  elif cmp -s "$CONF" "$SHIPPED_CONF"; then
    note "$CONF is the shipped default: unchanged"
    [ ! -e "$CONF.dist" ] || run rm -f "$CONF.dist"
  elif [ -f "$SHARE/monitoring_config.yaml" ] && cmp -s "$CONF" "$SHARE/monitoring_config.yaml"; then
    note "$CONF is an older shipped default, never edited: upgrading it"
    run install "${mode_args[@]}" "$SHIPPED_CONF" "$CONF"
    [ ! -e "$CONF.dist" ] || run rm -f "$CONF.dist"
  else
    note "$CONF was edited: keeping it"
    if [ -f "$CONF.dist" ] && cmp -s "$CONF.dist" "$SHIPPED_CONF"; then
      note "the current default is in $CONF.dist"
    else
      run install "${mode_args[@]}" "$SHIPPED_CONF" "$CONF.dist"
      note "the new default is in $CONF.dist (compare: diff -u $CONF $CONF.dist)"
    fi
  fi
  if [ -f "$SHARE/monitoring_config.yaml" ] && cmp -s "$SHIPPED_CONF" "$SHARE/monitoring_config.yaml"; then :
  else run install -D -m 0644 "$SHIPPED_CONF" "$SHARE/monitoring_config.yaml"; fi
  local f
  for f in environment agent.env; do
    if [ ! -e "$ETC/$f" ]; then
      printf '# %s for autobot-monitor units: KEY=value lines (see deploy/systemd/).\n' "$f" >"$TMP/$f"
      run install "${mode_args[@]}" "$TMP/$f" "$ETC/$f"
    fi
  done
}

install_units() {
  say "systemd units and log rotation"
  local u
  for u in "${UNIT_NAMES[@]}"; do
    render "$DEPLOY/systemd/$u.service" "$UNIT_DIR/$u.service" 0644
  done
  render "$DEPLOY/logrotate/autobot-monitor" "$LOGROTATE_DIR/autobot-monitor" 0644
  if systemd_running; then
    run systemctl daemon-reload
    for u in "${ENABLE[@]+"${ENABLE[@]}"}"; do run systemctl enable --now "autobot-monitor-$u.service"; done
    # A running service picks up the new code and units.
    for u in "${UNIT_NAMES[@]}"; do run systemctl try-restart "$u.service"; done
  elif [ "$SYSTEM" = 0 ]; then
    note "--prefix install: systemctl not called"
  else
    note "systemd is not running here: units installed, not enabled"
  fi
}

install_nginx() {
  [ "$WITH_NGINX" = 1 ] || return 0
  say "nginx site"
  render "$DEPLOY/nginx/autobot-monitor.conf" "$NGINX_AVAIL/autobot-monitor.conf" 0644
  if [ "$(readlink "$NGINX_ENABLED/autobot-monitor.conf" 2>/dev/null)" != ../sites-available/autobot-monitor.conf ]; then
    run install -d -m 0755 "$NGINX_ENABLED"
    run ln -sfn ../sites-available/autobot-monitor.conf "$NGINX_ENABLED/autobot-monitor.conf"
  fi
  if [ "$SYSTEM" = 1 ] && command -v nginx >/dev/null 2>&1; then
    if ! run nginx -t; then
      run rm -f "$NGINX_ENABLED/autobot-monitor.conf"
      die "nginx -t failed with the autobot-monitor site: disabled it again (see the message above)" 1
    fi
    note "apply: systemctl reload nginx"
  elif [ "$SYSTEM" = 1 ]; then
    note "nginx is not installed: the site is in place for when it is"
  fi
}

validate() {
  say "validating"
  run "$VENV/bin/autobot-monitor" --version
  run "$VENV/bin/autobot-monitor" check-config "$CONF"
  if [ -d "$SRC_DIR/src/autobot_monitor/web/static" ]; then
    run "$VENV/bin/python" -c "import importlib.resources as r, sys; sys.exit(not r.files('autobot_monitor').joinpath('web/static/index.html').is_file())" \
      || die "the installed package lacks the dashboard assets (web/static): check package-data in pyproject.toml" 1
  fi
  if [ "$SYSTEM" = 1 ]; then run chown -R "$RUN_USER:$RUN_GROUP" "$DATA"; fi
}

summary() {
  say "installed autobot-monitor under ${ROOT:-/}"
  if [ "$SYSTEM" = 1 ]; then
    cat <<EOF
    hub:    systemctl enable --now autobot-monitor-hub     (reload config: systemctl reload autobot-monitor-hub)
    agent:  systemctl enable --now autobot-monitor-agent   (flags: $ETC/agent.env)
    status: $VENV/bin/autobot-monitor status
    logs:   journalctl -u autobot-monitor-hub -f ; $DATA/logs/monitoring_control.log
EOF
  else
    cat <<EOF
    try it: $VENV/bin/autobot-monitor start --config $CONF --data-dir $DATA
    status: $VENV/bin/autobot-monitor status
EOF
  fi
}

if [ "$UNINSTALL" = 1 ]; then
  if [ "${#ENABLE[@]}" != 0 ] || [ "$WITH_NGINX" = 1 ]; then
    die "--uninstall does not take --enable or --with-nginx"
  fi
  uninstall
  exit 0
fi
[ "$DRY_RUN" = 0 ] || say "dry run: printing the steps, changing nothing"
check_requirements
create_user
make_dirs
install_venv
install_config
install_units
install_nginx
validate
summary
