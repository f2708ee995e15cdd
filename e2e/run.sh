#!/usr/bin/env bash
# End-to-end checks of the SignedChartRelease API against a real cluster (the one KUBECONFIG
# names): the API server must accept the samples and reject each file in e2e/invalid/ with the
# message in its `# expect:` header. Nothing here is simulated; without a cluster it fails.
#
#   KUBECONFIG=~/.kube/kind-config bash e2e/run.sh       (or `make e2e`)
#
# Environment:
#   KUBECTL            kubectl binary (default: kubectl on PATH)
#   SIGNET_E2E_KEEP=1  keep the test namespace (and the CRD, if this run installed it)
set -euo pipefail
cd "$(dirname "$0")/.."

KUBECTL="${KUBECTL:-kubectl}"
CRD_NAME=signedchartreleases.signet.dev
NS="signet-e2e-$(date +%s)-$$"
pass=0
fail=0

say() { printf '%s\n' "$*" >&2; }
ok() { pass=$((pass + 1)); say "  ok    $*"; }
bad() { fail=$((fail + 1)); say "  FAIL  $*"; }

command -v "$KUBECTL" >/dev/null || { say "e2e: $KUBECTL not found; install kubectl or set KUBECTL"; exit 2; }
if [[ -z "${KUBECONFIG:-}" && ! -f "$HOME/.kube/config" ]]; then
    say "e2e: no cluster configured: set KUBECONFIG to the cluster to test against"
    exit 2
fi
"$KUBECTL" version >/dev/null 2>&1 || { say "e2e: the cluster in KUBECONFIG does not answer ($KUBECTL version failed)"; exit 2; }

crd_preexisting=false
"$KUBECTL" get crd "$CRD_NAME" >/dev/null 2>&1 && crd_preexisting=true

cleanup() {
    [[ "${SIGNET_E2E_KEEP:-}" == 1 ]] && { say "e2e: keeping namespace $NS"; return; }
    "$KUBECTL" delete namespace "$NS" --wait=false >/dev/null 2>&1 || true
    if [[ "$crd_preexisting" == false ]]; then
        "$KUBECTL" delete -f crds/signet.dev_signedchartreleases.yaml --wait=false >/dev/null 2>&1 || true
    fi
}
trap cleanup EXIT

say "e2e: installing the CRD"
"$KUBECTL" apply --server-side --force-conflicts -f crds/signet.dev_signedchartreleases.yaml >/dev/null
"$KUBECTL" wait --for condition=established --timeout=60s "crd/$CRD_NAME" >/dev/null
"$KUBECTL" create namespace "$NS" >/dev/null
ok "CRD $CRD_NAME established; namespace $NS"

# The samples name their own namespaces; move every object into the test namespace (the top-level
# metadata.namespace is the only key indented by exactly two spaces).
in_test_namespace() { sed -E '/^  namespace: /d' "$1"; }

say "e2e: the samples must be accepted (strict field validation: unknown fields are errors)"
created=0
for sample in config/samples/*.yaml; do
    [[ "$(basename "$sample")" == kustomization.yaml ]] && continue
    if out=$(in_test_namespace "$sample" | "$KUBECTL" apply -n "$NS" --validate=strict -f - 2>&1); then
        ok "$sample"
        created=$((created + $(grep -c 'signedchartrelease.signet.dev/' <<<"$out" || true)))
    else
        bad "$sample was rejected: $out"
    fi
done
listed=$("$KUBECTL" get scr -n "$NS" -o name | wc -l)
if [[ "$listed" -eq "$created" && "$listed" -gt 0 ]]; then ok "kubectl get scr lists $listed releases"; else bad "created $created, listed $listed"; fi

header=$("$KUBECTL" get scr -n "$NS" 2>&1 | head -1 || true)
if [[ "$header" =~ NAME.*READY.*STATUS.*VERSION.*SIGNER.*AGE ]]; then ok "printer columns: $header"; else bad "printer columns: $header"; fi

# Schema defaults are applied by the API server.
interval=$("$KUBECTL" get scr cert-manager -n "$NS" -o jsonpath='{.spec.interval}')
if [[ "$interval" == 10m ]]; then ok "defaults applied (interval=$interval)"; else bad "default interval: got '$interval'"; fi

# The status subresource exists: writing status through the main resource is ignored.
"$KUBECTL" patch scr podinfo -n "$NS" --type=merge -p '{"status":{"observedGeneration":42}}' >/dev/null 2>&1 || true
observed=$("$KUBECTL" get scr podinfo -n "$NS" -o jsonpath='{.status.observedGeneration}')
if [[ -z "$observed" ]]; then ok "status is a subresource"; else bad "status written through the main resource: $observed"; fi

say "e2e: the invalid examples must be rejected with the expected message"
for invalid in e2e/invalid/*.yaml; do
    expect=$(sed -n 's/^# expect: //p' "$invalid")
    if out=$("$KUBECTL" apply -n "$NS" --dry-run=server --validate=strict -f "$invalid" 2>&1); then
        bad "$invalid was accepted"
    elif grep -qF -- "$expect" <<<"$out"; then
        ok "$invalid"
    else
        bad "$invalid was rejected, but without '$expect': $out"
    fi
done

say "e2e: config/default must build"
if command -v kustomize >/dev/null; then build=(kustomize build); else build=("$KUBECTL" kustomize); fi
if rendered=$("${build[@]}" config/default 2>&1); then
    kinds=$(grep -c '^kind: ' <<<"$rendered")
    ok "config/default renders $kinds objects"
else
    bad "config/default does not build: $rendered"
fi

say "e2e: $pass passed, $fail failed"
[[ "$fail" -eq 0 ]]
