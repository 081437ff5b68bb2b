#!/usr/bin/env bash
# Installs the real tools the tests talk to (redis-server, promtool, prometheus, chromium, nginx,
# amtool, shellcheck, prometheus-node-exporter) when missing: apt-get as root; otherwise says
# what is missing (those tests are then skipped).
set -euo pipefail
need=()
command -v redis-server >/dev/null 2>&1 || need+=(redis-server)
command -v promtool >/dev/null 2>&1 || need+=(prometheus)
command -v prometheus >/dev/null 2>&1 || need+=(prometheus)  # the server (store tests, issue 3)
command -v chromium >/dev/null 2>&1 || need+=(chromium)  # dashboard browser tests (issue 5)
# deploy tests (issue 10): nginx -t and a live proxy, amtool check-config, shellcheck install.sh.
# Services these packages ship are not started where policy-rc.d forbids it (containers).
command -v nginx >/dev/null 2>&1 || [ -x /usr/sbin/nginx ] || need+=(nginx)
command -v amtool >/dev/null 2>&1 || need+=(prometheus-alertmanager)
command -v shellcheck >/dev/null 2>&1 || need+=(shellcheck)
# host collectors (issue 18): the real smartctl's scan, and a real Podman API for container names
command -v smartctl >/dev/null 2>&1 || [ -x /usr/sbin/smartctl ] || need+=(smartmontools)
command -v podman >/dev/null 2>&1 || need+=(podman)
# the real node_exporter our agent's output is compared with (issue 18)
command -v prometheus-node-exporter >/dev/null 2>&1 || command -v node_exporter >/dev/null 2>&1 \
  || need+=(prometheus-node-exporter)
[ ${#need[@]} -eq 0 ] && exit 0
if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
  echo "installing ${need[*]} with apt-get" >&2
  DEBIAN_FRONTEND=noninteractive apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
else
  echo "warning: missing ${need[*]} (not root or no apt-get); tests needing them will be skipped" >&2
fi
