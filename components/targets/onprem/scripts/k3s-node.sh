#!/usr/bin/env bash
# Install, reconfigure or upgrade k3s on one node, converging on the pinned version.
#
# Parameters (environment). Everything but the token is on the command line, so
# a plan shows which version, installer and config each node gets; the token
# arrives with the script on stdin and is kept in a file k3s reads (token-file).
#   ROLE                 server | agent
#   INSTALL_K3S_VERSION  the pinned release, e.g. v1.35.0+k3s1
#   INSTALL_K3S_SCRIPT   the installer: the release's install.sh URL, or a staged path when air-gapped
#   K3S_CONFIG           /etc/rancher/k3s/config.yaml
#   K3S_TOKEN            the cluster's join token (secret)
#   MANIFESTS            servers: the kube-vip manifest for the auto-deploy directory ("" for none)
#   AUDIT_POLICY         servers: the API server's audit policy ("" for none)
#   REGISTRIES           /etc/rancher/k3s/registries.yaml: the registry mirror every image comes through ("" for none)
#   AIRGAP               true: install from ARTIFACTS_DIR, never download
#   ARTIFACTS_DIR        pre-staged install.sh, k3s binary and k3s-airgap-images-<arch>.tar.zst
#   START_TIMEOUT        seconds to wait for the service to start (an agent joins through the VIP first)
#   ROOT                 file system root ("" on a node; a scratch directory in tests)
#
# A second run with the same parameters changes nothing: the installed version
# and every file are compared before anything is written or restarted.
set -euo pipefail

: "${ROLE:?}" "${INSTALL_K3S_VERSION:?}" "${INSTALL_K3S_SCRIPT:?}" "${K3S_CONFIG:?}" "${K3S_TOKEN:?}"
MANIFESTS="${MANIFESTS:-}"
AUDIT_POLICY="${AUDIT_POLICY:-}"
REGISTRIES="${REGISTRIES:-}"
AIRGAP="${AIRGAP:-false}"
ARTIFACTS_DIR="${ARTIFACTS_DIR:-/opt/k3s}"
START_TIMEOUT="${START_TIMEOUT:-600}"
ROOT="${ROOT:-}"
version="$INSTALL_K3S_VERSION"

case "$ROLE" in
  server) service=k3s ;;
  agent) service=k3s-agent ;;
  *) echo "ROLE must be server or agent, not '$ROLE'" >&2; exit 2 ;;
esac

minor() {
  local v="${1#v}"
  v="${v#*.}"
  echo "${v%%.*}"
}

release_of() {
  "$1" --version | awk 'NR == 1 { print $3 }'
}

installed=""
if command -v k3s >/dev/null 2>&1; then
  installed="$(release_of k3s)"
fi

# Installed means the pinned binary and its service enabled and running: a retry after a
# failed start must not report success.
running() {
  systemctl is-enabled --quiet "$service" && systemctl is-active --quiet "$service"
}

# k3s's service is Type=notify: `systemctl restart` returns once k3s is ready, which for an
# agent means it joined through the VIP. Bounded, so an unreachable server fails the run
# instead of hanging it.
start() {
  if ! timeout "$START_TIMEOUT" systemctl restart "$service"; then
    echo "$service did not become ready within ${START_TIMEOUT}s; see journalctl -u $service" >&2
    exit 1
  fi
}

# Kubernetes supports upgrading one minor at a time, never downgrading.
if [ -n "$installed" ] && [ "$installed" != "$version" ]; then
  from="$(minor "$installed")"
  to="$(minor "$version")"
  if [ "$to" -lt "$from" ]; then
    echo "refusing to downgrade k3s from $installed to $version" >&2
    exit 1
  fi
  if [ $((to - from)) -gt 1 ]; then
    echo "k3s $installed -> $version skips a minor version; upgrade one minor at a time" >&2
    exit 1
  fi
fi

changed=0
write_if_changed() {
  local path="$1" mode="$2" content="$3" tmp
  tmp="$(mktemp)"
  printf '%s\n' "$content" >"$tmp"
  if [ -f "$path" ] && cmp -s "$tmp" "$path"; then
    rm -f "$tmp"
    return 0
  fi
  mkdir -p "$(dirname "$path")"
  install -m "$mode" "$tmp" "$path"
  rm -f "$tmp"
  changed=1
}

write_if_changed "$ROOT/etc/rancher/k3s/token" 600 "$K3S_TOKEN"
write_if_changed "$ROOT/etc/rancher/k3s/config.yaml" 600 "$K3S_CONFIG"
if [ -n "$REGISTRIES" ]; then
  write_if_changed "$ROOT/etc/rancher/k3s/registries.yaml" 600 "$REGISTRIES"
fi
if [ "$ROLE" = server ]; then
  if [ -n "$AUDIT_POLICY" ]; then
    write_if_changed "$ROOT/var/lib/rancher/k3s/server/audit-policy.yaml" 600 "$AUDIT_POLICY"
  fi
  if [ -n "$MANIFESTS" ]; then
    write_if_changed "$ROOT/var/lib/rancher/k3s/server/manifests/kube-vip.yaml" 600 "$MANIFESTS"
  fi
fi

# install.sh copies every K3S_* variable of its environment into
# /etc/systemd/system/<service>.service.env; the token must stay in the token file only.
# Source: https://github.com/k3s-io/k3s/blob/master/install.sh (create_env_file)
unset K3S_TOKEN K3S_CONFIG

if [ "$installed" = "$version" ] && running; then
  if [ "$changed" -eq 0 ]; then
    echo "k3s $version ($ROLE) already installed and configured; nothing to change"
    exit 0
  fi
  start
  echo "k3s $version ($ROLE) reconfigured"
  exit 0
fi

# The installer writes and enables the unit; this script starts it, with a deadline.
export INSTALL_K3S_VERSION INSTALL_K3S_EXEC="$ROLE" INSTALL_K3S_SKIP_START=true
if [ "$AIRGAP" = true ]; then
  arch="$(uname -m)"
  case "$arch" in
    x86_64) arch=amd64 ;;
    aarch64) arch=arm64 ;;
  esac
  images="$ARTIFACTS_DIR/k3s-airgap-images-$arch.tar.zst"
  for artifact in "$INSTALL_K3S_SCRIPT" "$ARTIFACTS_DIR/k3s" "$images"; do
    if [ ! -f "$artifact" ]; then
      echo "air-gapped install needs $artifact staged on this node" >&2
      exit 1
    fi
  done
  staged="$(release_of "$ARTIFACTS_DIR/k3s")"
  if [ "$staged" != "$version" ]; then
    echo "staged $ARTIFACTS_DIR/k3s is ${staged:-unreadable}, not $version; stage the pinned release" >&2
    exit 1
  fi
  mkdir -p "$ROOT/var/lib/rancher/k3s/agent/images" "$ROOT/usr/local/bin"
  install -m 644 "$images" "$ROOT/var/lib/rancher/k3s/agent/images/"
  install -m 755 "$ARTIFACTS_DIR/k3s" "$ROOT/usr/local/bin/k3s"
  INSTALL_K3S_SKIP_DOWNLOAD=true timeout 900 sh "$INSTALL_K3S_SCRIPT"
else
  # The installer of the pinned release, not the moving get.k3s.io script.
  curl -sfL --max-time 120 "$INSTALL_K3S_SCRIPT" | timeout 900 sh -s -
fi
start
echo "k3s ${installed:-none} -> $version ($ROLE) installed"
