#!/usr/bin/env bash
# Install, reconfigure or upgrade k3s on one node, converging on the pinned version.
#
# Parameters (environment, set by the renderer above this line):
#   ROLE            server | agent
#   K3S_VERSION     the pinned release, e.g. v1.35.0+k3s1
#   K3S_CONFIG_B64  /etc/rancher/k3s/config.yaml, base64 (holds the join token)
#   MANIFESTS_B64   servers: kube-vip manifest for the auto-deploy directory, base64 ("" for none)
#   AIRGAP          true: install from ARTIFACTS_DIR, never download
#   ARTIFACTS_DIR   pre-staged install.sh, k3s binary and k3s-airgap-images-<arch>.tar.zst
#   ROOT            file system root ("" on a node; a scratch directory in tests)
#
# A second run with the same parameters changes nothing: the installed version
# and every file are compared before anything is written or restarted.
set -euo pipefail

: "${ROLE:?}" "${K3S_VERSION:?}" "${K3S_CONFIG_B64:?}"
MANIFESTS_B64="${MANIFESTS_B64:-}"
AIRGAP="${AIRGAP:-false}"
ARTIFACTS_DIR="${ARTIFACTS_DIR:-/opt/k3s}"
ROOT="${ROOT:-}"

case "$ROLE" in
  server) service=k3s ;;
  agent) service=k3s-agent ;;
  *) echo "ROLE must be server or agent, not '$ROLE'" >&2; exit 2 ;;
esac

minor() {
  local version="${1#v}"
  version="${version#*.}"
  echo "${version%%.*}"
}

installed=""
if command -v k3s >/dev/null 2>&1; then
  installed="$(k3s --version | awk 'NR == 1 { print $3 }')"
fi

# Kubernetes supports upgrading one minor at a time, never downgrading.
if [ -n "$installed" ] && [ "$installed" != "$K3S_VERSION" ]; then
  from="$(minor "$installed")"
  to="$(minor "$K3S_VERSION")"
  if [ "$to" -lt "$from" ]; then
    echo "refusing to downgrade k3s from $installed to $K3S_VERSION" >&2
    exit 1
  fi
  if [ $((to - from)) -gt 1 ]; then
    echo "k3s $installed -> $K3S_VERSION skips a minor version; upgrade one minor at a time" >&2
    exit 1
  fi
fi

changed=0
write_if_changed() {
  local path="$1" mode="$2" content_b64="$3" tmp
  tmp="$(mktemp)"
  printf '%s' "$content_b64" | base64 -d >"$tmp"
  if [ -f "$path" ] && cmp -s "$tmp" "$path"; then
    rm -f "$tmp"
    return 0
  fi
  mkdir -p "$(dirname "$path")"
  install -m "$mode" "$tmp" "$path"
  rm -f "$tmp"
  changed=1
}

write_if_changed "$ROOT/etc/rancher/k3s/config.yaml" 600 "$K3S_CONFIG_B64"
if [ "$ROLE" = server ] && [ -n "$MANIFESTS_B64" ]; then
  write_if_changed "$ROOT/var/lib/rancher/k3s/server/manifests/kube-vip.yaml" 600 "$MANIFESTS_B64"
fi

if [ "$installed" = "$K3S_VERSION" ]; then
  if [ "$changed" -eq 0 ]; then
    echo "k3s $K3S_VERSION ($ROLE) already installed and configured; nothing to change"
    exit 0
  fi
  systemctl restart "$service"
  echo "k3s $K3S_VERSION ($ROLE) reconfigured"
  exit 0
fi

export INSTALL_K3S_VERSION="$K3S_VERSION"
export INSTALL_K3S_EXEC="$ROLE"
if [ "$AIRGAP" = true ]; then
  arch="$(uname -m)"
  case "$arch" in
    x86_64) arch=amd64 ;;
    aarch64) arch=arm64 ;;
  esac
  images="$ARTIFACTS_DIR/k3s-airgap-images-$arch.tar.zst"
  for artifact in "$ARTIFACTS_DIR/install.sh" "$ARTIFACTS_DIR/k3s" "$images"; do
    if [ ! -f "$artifact" ]; then
      echo "air-gapped install needs $artifact staged on this node" >&2
      exit 1
    fi
  done
  mkdir -p "$ROOT/var/lib/rancher/k3s/agent/images"
  install -m 644 "$images" "$ROOT/var/lib/rancher/k3s/agent/images/"
  mkdir -p "$ROOT/usr/local/bin"
  install -m 755 "$ARTIFACTS_DIR/k3s" "$ROOT/usr/local/bin/k3s"
  INSTALL_K3S_SKIP_DOWNLOAD=true sh "$ARTIFACTS_DIR/install.sh"
else
  # The installer of the pinned release, not the moving get.k3s.io script.
  curl -sfL "https://raw.githubusercontent.com/k3s-io/k3s/${K3S_VERSION/+/%2B}/install.sh" | sh -s -
fi
echo "k3s ${installed:-none} -> $K3S_VERSION ($ROLE) installed"
