#!/usr/bin/env bash
# The Signet demo (`make demo`): start a throwaway local OCI registry, lint and package the
# sample chart, push it, pull it back by SemVer range, check the bytes, and show the manifest.
# Idempotent: every run uses fresh temporary directories and stops the registry it started.
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
export PATH="$root/.tools/bin:$PATH"
chart_dir="$root/examples/hello"
registry_bin=/usr/bin/docker-registry

step() { printf '\n\033[1m==> %s\033[0m\n' "$*"; }
die() { printf 'demo: %s\n' "$*" >&2; exit 1; }

[ -x "$registry_bin" ] || die "$registry_bin not found; run 'make tools' first"

work=$(mktemp -d -t signet-demo.XXXXXX)
registry_pid=""
cleanup() {
  if [ -n "$registry_pid" ] && kill -0 "$registry_pid" 2>/dev/null; then
    kill "$registry_pid" 2>/dev/null || true
    wait "$registry_pid" 2>/dev/null || true
  fi
  rm -rf "$work"
}
trap cleanup EXIT INT TERM

if [ -n "${SIGNET_BIN:-}" ]; then
  signet="$SIGNET_BIN"
else
  step "Building signet"
  cargo build -q --bin signet
  signet="${CARGO_TARGET_DIR:-$root/target}/debug/signet"
fi
# The demo must not touch the user's own registry credentials.
export DOCKER_CONFIG="$work/docker"

step "Starting a local registry (Debian's docker-registry, plain HTTP)"
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
host="127.0.0.1:$port"
cat >"$work/registry.yml" <<YAML
version: 0.1
log:
  level: error
  accesslog:
    disabled: true
storage:
  filesystem:
    rootdirectory: $work/registry-data
http:
  addr: $host
  secret: signet-demo
YAML
"$registry_bin" serve "$work/registry.yml" >"$work/registry.log" 2>&1 &
registry_pid=$!
for _ in $(seq 1 100); do
  curl -fsS "http://$host/v2/" >/dev/null 2>&1 && break
  kill -0 "$registry_pid" 2>/dev/null || { cat "$work/registry.log" >&2; die "registry exited"; }
  sleep 0.1
done
curl -fsS "http://$host/v2/" >/dev/null || die "registry did not come up on $host"
echo "registry listening on $host (pid $registry_pid)"

step "signet lint examples/hello"
"$signet" lint "$chart_dir"

step "signet package examples/hello (twice: the archive is reproducible)"
"$signet" package "$chart_dir" -d "$work/a"
"$signet" package "$chart_dir" -d "$work/b" >/dev/null
archive="$work/a/hello-0.1.0.tgz"
cmp "$archive" "$work/b/hello-0.1.0.tgz" && echo "identical bytes: $(sha256sum "$archive" | cut -d' ' -f1)"

step "signet push $archive oci://$host/charts"
"$signet" push "$archive" "oci://$host/charts" --plain-http

step "signet pull oci://$host/charts/hello --version '^0.1'"
"$signet" pull "oci://$host/charts/hello" --version '^0.1' -d "$work/pulled" --plain-http
cmp "$archive" "$work/pulled/hello-0.1.0.tgz" && echo "pulled archive is byte-identical to the packaged one"

step "The manifest in the registry"
curl -fsS -H 'Accept: application/vnd.oci.image.manifest.v1+json' \
  "http://$host/v2/charts/hello/manifests/0.1.0" | jq .

if command -v helm >/dev/null 2>&1; then
  step "helm pulls the same chart (interop)"
  mkdir -p "$work/helm"
  HELM_CONFIG_HOME="$work/helm/config" HELM_CACHE_HOME="$work/helm/cache" HELM_DATA_HOME="$work/helm/data" \
    helm pull "oci://$host/charts/hello" --version 0.1.0 --plain-http -d "$work/helm"
  cmp "$archive" "$work/helm/hello-0.1.0.tgz" && echo "helm's download is byte-identical too"
fi

step "signet generate-key-pair (cosign's formats: cosign.key encrypted, cosign.pub PKIX)"
export COSIGN_PASSWORD=signet-demo
"$signet" generate-key-pair --output-key-prefix "$work/cosign"

ref="oci://$host/charts/hello:0.1.0"
step "signet sign $ref --key cosign.key (signs the digest, stored at the cosign .sig tag)"
"$signet" sign "$ref" --key "$work/cosign.key" --plain-http

step "signet verify $ref --key cosign.pub"
"$signet" verify "$ref" --key "$work/cosign.pub" --insecure-ignore-tlog --plain-http

if command -v cosign >/dev/null 2>&1; then
  step "cosign verify accepts signet's signature (interop)"
  cosign verify --key "$work/cosign.pub" --insecure-ignore-tlog --allow-http-registry \
    "$host/charts/hello:0.1.0" 2>/dev/null | jq -c '.[0].critical'
fi

step "Verification fails closed: a key that did not sign is refused"
"$signet" generate-key-pair --output-key-prefix "$work/stranger" >/dev/null
if "$signet" verify "$ref" --key "$work/stranger.pub" --insecure-ignore-tlog --plain-http; then
  die "verification with the wrong key passed"
fi
echo "refused, as it must be"

step "signet template demo $ref (rendered in-process, like helm template)"
"$signet" template demo "oci://$host/charts/hello" --version 0.1.0 --namespace demo --plain-http

# The cluster half: the reconciler's stories, when a cluster is reachable.
if [ -n "${KUBECONFIG:-}" ] && command -v kubectl >/dev/null 2>&1 && kubectl version >/dev/null 2>&1; then
  step "The cluster half: signet-controller against the cluster in KUBECONFIG (e2e/stories.sh)"
  bash "$root/e2e/stories.sh"
else
  echo
  echo "demo: no cluster reachable; for the cluster half run KUBECONFIG=<your kubeconfig> make demo (kind or k3d will do; see e2e/README.md)"
fi

step "Done; stopping the registry and removing $work"
