#!/usr/bin/env bash
# Reconcile throughput on a real cluster (the one KUBECONFIG names): N SignedChartReleases of one
# small signed chart (a Deployment scaled to zero, a ServiceAccount, a Service, an Ingress) from a
# local registry to Ready, with signet-controller running out of cluster. Prints the same line as
# `cargo bench --bench reconcile` (which does this against the API-server double):
#
#   reconcile throughput (cluster, --concurrent=C): N releases Ready in T s (R/s), controller peak RSS M MiB
#
#   KUBECONFIG=… bash e2e/scale.sh 1000        (default N = 100; SIGNET_BENCH_CONCURRENT, default 8)
#
# A 0-replica Deployment needs no node, so a cluster without nodes is enough. The controller runs as
# a release build (`cargo build --release`) unless SIGNET_BIN_DIR names one.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
export PATH="$root/.tools/bin:$PATH"
n="${1:-100}"
concurrent="${SIGNET_BENCH_CONCURRENT:-8}"
KUBECTL="${KUBECTL:-kubectl}"
NS="signet-scale-$(date +%s)-$$"
die() { printf 'scale: %s\n' "$*" >&2; exit 2; }

command -v "$KUBECTL" >/dev/null || die "$KUBECTL not found"
"$KUBECTL" version >/dev/null 2>&1 || die "the cluster in KUBECONFIG does not answer"
[[ -x /usr/bin/docker-registry ]] || die "/usr/bin/docker-registry not found; run 'make tools'"
if [[ -n "${SIGNET_BIN_DIR:-}" ]]; then
    bin="$SIGNET_BIN_DIR"
else
    cargo build -q --release --bin signet --bin signet-controller
    bin="${CARGO_TARGET_DIR:-$root/target}/release"
fi

work=$(mktemp -d -t signet-scale.XXXXXX)
registry_pid=""
controller_pid=""
# shellcheck source=e2e/lib.sh
source "$root/e2e/lib.sh"
cleanup() {
    local status=$?
    set +e
    stop_processes "$controller_pid" "$registry_pid"
    remove_namespace
    rm -rf "$work"
    exit "$status"
}
trap cleanup EXIT
export DOCKER_CONFIG="$work/docker" COSIGN_PASSWORD=scale
start_registry

chart="$work/src/bench"
mkdir -p "$chart/templates"
printf 'apiVersion: v2\nname: bench\nversion: 1.0.0\n' >"$chart/Chart.yaml"
printf 'image: registry.example/bench:1\n' >"$chart/values.yaml"
cat >"$chart/templates/all.yaml" <<'T'
apiVersion: v1
kind: ServiceAccount
metadata:
  name: {{ .Release.Name }}
---
apiVersion: v1
kind: Service
metadata:
  name: {{ .Release.Name }}
spec:
  selector: {app: {{ .Release.Name }}}
  ports: [{port: 80, targetPort: 8080}]
---
apiVersion: apps/v1
kind: Deployment
metadata:
  name: {{ .Release.Name }}
  labels: {app: {{ .Release.Name }}}
spec:
  replicas: 0
  selector:
    matchLabels: {app: {{ .Release.Name }}}
  template:
    metadata:
      labels: {app: {{ .Release.Name }}}
    spec:
      serviceAccountName: {{ .Release.Name }}
      containers:
        - name: app
          image: {{ .Values.image }}
          ports: [{containerPort: 8080}]
---
apiVersion: networking.k8s.io/v1
kind: Ingress
metadata:
  name: {{ .Release.Name }}
spec:
  rules:
    - host: {{ .Release.Name }}.bench.example
      http:
        paths:
          - path: /
            pathType: Prefix
            backend:
              service: {name: {{ .Release.Name }}, port: {number: 80}}
T
"$bin/signet" package "$chart" -d "$work/pkg" >/dev/null
"$bin/signet" push "$work/pkg/bench-1.0.0.tgz" "oci://$host/scale" --plain-http >/dev/null
(cd "$work" && "$bin/signet" generate-key-pair >/dev/null 2>&1)
"$bin/signet" sign "oci://$host/scale/bench:1.0.0" --key "$work/cosign.key" --plain-http >/dev/null

"$KUBECTL" apply --server-side --force-conflicts -f crds/signet.dev_signedchartreleases.yaml >/dev/null
"$KUBECTL" wait --for condition=established --timeout=60s crd/signedchartreleases.signet.dev >/dev/null
"$KUBECTL" create namespace "$NS" >/dev/null
"$KUBECTL" create secret generic keys -n "$NS" --from-file=cosign.pub="$work/cosign.pub" >/dev/null

for i in $(seq 1 "$n"); do
    cat <<YAML
---
apiVersion: signet.dev/v1alpha1
kind: SignedChartRelease
metadata: {name: bench-$i, namespace: $NS}
spec:
  chart: {repository: "oci://$host/scale/bench", version: 1.0.0, registry: {plainHTTP: true}}
  verify:
    requireTransparencyLog: false
    authorities: [{name: bench, key: {secretRef: {name: keys, key: cosign.pub}}}]
  interval: 10m
YAML
done >"$work/releases.yaml"
"$KUBECTL" apply --server-side -f "$work/releases.yaml" >/dev/null

start=$(date +%s.%N)
"$bin/signet-controller" --watch-namespace "$NS" --concurrent "$concurrent" \
    --health-addr 127.0.0.1:0 --metrics-addr 127.0.0.1:0 >"$work/controller.log" 2>&1 &
controller_pid=$!
ready=0
deadline=$(( $(date +%s) + ${SIGNET_BENCH_TIMEOUT:-600} ))
while (( $(date +%s) < deadline )); do
    ready=$("$KUBECTL" get scr -n "$NS" -o jsonpath='{range .items[*]}{.status.conditions[?(@.type=="Ready")].status}{"\n"}{end}' | grep -c '^True$' || true)
    (( ready >= n )) && break
    sleep 1
done
elapsed=$(python3 -c "import time; print(f'{time.time() - $start:.1f}')")
peak_kb=$(awk '/VmHWM/ {print $2}' "/proc/$controller_pid/status" 2>/dev/null || echo 0)
peak=$(python3 -c "print(f'{$peak_kb / 1024:.1f}')")
if (( ready >= n )); then
    rate=$(python3 -c "print(f'{$n / $elapsed:.1f}')")
    echo "reconcile throughput (cluster, --concurrent=$concurrent): $n releases Ready in $elapsed s ($rate/s), controller peak RSS $peak MiB"
else
    echo "reconcile throughput (cluster, --concurrent=$concurrent): only $ready/$n releases Ready after $elapsed s, controller peak RSS $peak MiB"
    exit 1
fi
