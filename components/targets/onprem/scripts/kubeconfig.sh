#!/usr/bin/env bash
# Print the admin kubeconfig of a k3s server once the server has written it.
#
# Parameters (environment, set by the renderer above this line):
#   WAIT_SECONDS  how long to wait for the file (the first start creates the cluster)
#   ROOT          file system root ("" on a node; a scratch directory in tests)
set -euo pipefail

WAIT_SECONDS="${WAIT_SECONDS:-300}"
ROOT="${ROOT:-}"
path="$ROOT/etc/rancher/k3s/k3s.yaml"

waited=0
until [ -s "$path" ]; do
  if [ "$waited" -ge "$WAIT_SECONDS" ]; then
    echo "$path did not appear within ${WAIT_SECONDS}s" >&2
    exit 1
  fi
  sleep 5
  waited=$((waited + 5))
done
cat "$path"
