#!/usr/bin/env bash
# The reconciler's stories against a real cluster (the one KUBECONFIG names): a local registry,
# charts packaged, pushed and signed with `signet` (and `cosign` when present), `signet-controller`
# running out of cluster, and every check made with `kubectl` as a user would. The charts hold no
# workloads (a ConfigMap, a ServiceAccount, a Service), so a cluster without nodes is enough.
#
#   KUBECONFIG=~/.kube/kind-config bash e2e/stories.sh      (`make e2e` runs it after run.sh)
#
# Environment:
#   KUBECTL            kubectl binary (default: kubectl on PATH)
#   SIGNET_BIN_DIR     directory with signet and signet-controller (default: build them)
#   SIGNET_E2E_KEEP=1  keep the namespace, the registry data and the controller log
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
# shellcheck source=e2e/lib.sh
source "$root/e2e/lib.sh"
story_setup stories signet-stories

# --- charts: 0.1.0 and 0.2.0 signed by the team key (0.2.0 drops the ServiceAccount), 0.3.0
# unsigned, 0.4.0 signed by another key ---
chart() {
    local version=$1 with_sa=$2 dir="$work/src-$1/story"
    mkdir -p "$dir/templates"
    printf 'apiVersion: v2\nname: story\nversion: %s\n' "$version" >"$dir/Chart.yaml"
    printf 'greeting: hello\n' >"$dir/values.yaml"
    cat >"$dir/templates/configmap.yaml" <<'T'
apiVersion: v1
kind: ConfigMap
metadata:
  name: {{ .Release.Name }}-greeting
data:
  greeting: {{ .Values.greeting | quote }}
  version: {{ .Chart.Version | quote }}
  password: {{ randAlphaNum 16 | quote }}
T
    cat >"$dir/templates/service.yaml" <<'T'
apiVersion: v1
kind: Service
metadata:
  name: {{ .Release.Name }}
spec:
  type: ClusterIP
  ports:
    - port: 80
      targetPort: 8080
  selector:
    app: {{ .Release.Name }}
T
    if [[ "$with_sa" == yes ]]; then
        printf 'apiVersion: v1\nkind: ServiceAccount\nmetadata:\n  name: {{ .Release.Name }}-sa\n' \
            >"$dir/templates/serviceaccount.yaml"
    fi
    "$signet" package "$dir" -d "$work/pkg" >/dev/null
    "$signet" push "$work/pkg/story-$version.tgz" "oci://$host/e2e" --plain-http >/dev/null
}
export COSIGN_PASSWORD=stories
(cd "$work" && "$signet" generate-key-pair >/dev/null 2>&1 && mkdir other && cd other && "$signet" generate-key-pair >/dev/null 2>&1)
sign() { "$signet" sign "oci://$host/e2e/story:$1" --key "$2" --plain-http >/dev/null; }
chart 0.1.0 yes && sign 0.1.0 "$work/cosign.key"
chart 0.2.0 no && sign 0.2.0 "$work/cosign.key"
chart 0.3.0 no
chart 0.4.0 no && sign 0.4.0 "$work/other/cosign.key"
ok "registry $host: story 0.1.0, 0.2.0 (signed), 0.3.0 (unsigned), 0.4.0 (other key)"

# --- CRD, namespace, key Secret, controller ---
"$KUBECTL" apply --server-side --force-conflicts -f crds/signet.dev_signedchartreleases.yaml >/dev/null
"$KUBECTL" wait --for condition=established --timeout=60s crd/signedchartreleases.signet.dev >/dev/null
"$KUBECTL" create namespace "$NS" >/dev/null
"$KUBECTL" create secret generic signet-keys -n "$NS" --from-file=cosign.pub="$work/cosign.pub" >/dev/null
"$bin/signet-controller" --watch-namespace "$NS" --health-addr 127.0.0.1:0 --metrics-addr 127.0.0.1:0 \
    >"$work/controller.log" 2>&1 &
controller_pid=$!
ok "controller running (pid $controller_pid), namespace $NS"

release() { # name version [extra spec YAML, indented 2]
    cat <<YAML
apiVersion: signet.dev/v1alpha1
kind: SignedChartRelease
metadata:
  name: $1
  namespace: $NS
spec:
  chart:
    repository: oci://$host/e2e/story
    version: "$2"
    registry:
      plainHTTP: true
  verify:
    requireTransparencyLog: false
    authorities:
      - name: team
        key:
          secretRef: {name: signet-keys, key: cosign.pub}
  interval: 3s
  timeout: 60s
${3:-}
YAML
}
cond() { "$KUBECTL" get scr "$1" -n "$NS" -o jsonpath="{.status.conditions[?(@.type==\"$2\")].$3}" 2>/dev/null; }
cm() { "$KUBECTL" get configmap "$1-greeting" -n "$NS" -o jsonpath="{.data.$2}" 2>/dev/null; }
exists() { "$KUBECTL" get "$1" -n "$NS" >/dev/null 2>&1; }
# until TIMEOUT CMD…: retry until CMD succeeds.
until_ok() { local t=$1; shift; for _ in $(seq 1 "$t"); do "$@" && return 0; sleep 1; done; return 1; }
wait_ready() { "$KUBECTL" wait "scr/$1" -n "$NS" --for=condition=Ready --timeout="${2:-90s}" >/dev/null 2>&1; }

say "stories: install"
release story 0.1.0 | "$KUBECTL" apply -f - >/dev/null
if wait_ready story; then ok "kubectl wait --for=condition=Ready"; else bad "not Ready: $(cond story Ready message)"; fi
if [[ "$(cm story greeting)" == hello && "$(cm story version)" == 0.1.0 ]] && exists serviceaccount/story-sa && exists service/story; then
    ok "objects applied (ConfigMap, Service, ServiceAccount)"
else
    bad "objects missing"
fi
marks=$("$KUBECTL" get configmap story-greeting -n "$NS" -o jsonpath='{.metadata.annotations.meta\.helm\.sh/release-name} {.metadata.labels.app\.kubernetes\.io/managed-by}')
if [[ "$marks" == "story Helm" ]]; then ok "ownership marks Helm recognises ($marks)"; else bad "marks: '$marks'"; fi
applied=$("$KUBECTL" get scr story -n "$NS" -o jsonpath='{.status.lastAppliedRevision.version} {.status.lastAppliedRevision.digest}')
if [[ "$applied" =~ ^0\.1\.0\ sha256:[0-9a-f]{64}$ ]]; then ok "lastAppliedRevision: $applied"; else bad "lastAppliedRevision: '$applied'"; fi
signer=$("$KUBECTL" get scr story -n "$NS" -o jsonpath='{.status.verifiedSigners[0].authority}')
if [[ "$signer" == team ]]; then ok "verified signer recorded"; else bad "verifiedSigners: '$signer'"; fi
password=$(cm story password)

say "stories: stable across intervals, drift corrected"
sleep 7
if [[ "$(cm story password)" == "$password" ]]; then ok "randAlphaNum value kept across intervals"; else bad "password rotated without an input change"; fi
"$KUBECTL" patch configmap story-greeting -n "$NS" --type=merge -p '{"data":{"greeting":"tampered"}}' >/dev/null
if until_ok 20 bash -c "[[ \$($KUBECTL get configmap story-greeting -n $NS -o jsonpath='{.data.greeting}') == hello ]]"; then
    ok "manual edit of an owned field corrected"
else
    bad "drift not corrected: $(cm story greeting)"
fi

say "stories: values change"
release story 0.1.0 "  values: {greeting: bonjour}" | "$KUBECTL" apply -f - >/dev/null
if until_ok 30 bash -c "[[ \$($KUBECTL get configmap story-greeting -n $NS -o jsonpath='{.data.greeting}') == bonjour ]]"; then ok "inline values applied"; else bad "values not applied"; fi

say "stories: upgrade prunes"
release story 0.2.0 "  values: {greeting: bonjour}" | "$KUBECTL" apply -f - >/dev/null
if until_ok 30 bash -c "[[ \$($KUBECTL get configmap story-greeting -n $NS -o jsonpath='{.data.version}') == 0.2.0 ]]" && wait_ready story; then
    ok "upgraded to 0.2.0"
else
    bad "upgrade: $(cond story Ready message)"
fi
if until_ok 20 bash -c "! $KUBECTL get serviceaccount story-sa -n $NS >/dev/null 2>&1"; then ok "ServiceAccount pruned"; else bad "ServiceAccount not pruned"; fi

say "stories: refusals leave the applied revision untouched"
for bad_version in 0.3.0 0.4.0; do
    release story "$bad_version" "  values: {greeting: bonjour}" | "$KUBECTL" apply -f - >/dev/null
    if until_ok 30 bash -c "[[ \$($KUBECTL get scr story -n $NS -o jsonpath='{.status.conditions[?(@.type==\"SourceVerified\")].status}') == False ]]"; then
        ok "$bad_version refused: $(cond story SourceVerified reason): $(cond story SourceVerified message | cut -c1-120)"
    else
        bad "$bad_version not refused: $(cond story Ready message)"
    fi
    if [[ "$(cm story version)" == 0.2.0 && "$(cond story Ready status)" == False ]]; then ok "0.2.0 still applied, Ready=False"; else bad "applied revision touched"; fi
done

say "stories: suspend"
release story 0.2.0 "  suspend: true
  values: {greeting: hola}" | "$KUBECTL" apply -f - >/dev/null
sleep 8
if [[ "$(cm story greeting)" == bonjour ]]; then ok "suspended release not applied"; else bad "suspended release applied"; fi
reason=$(cond story Ready reason)
if [[ "$reason" == Suspended ]]; then ok "Ready reason Suspended"; else bad "suspended release's Ready reason: '$reason'"; fi
release story 0.2.0 "  values: {greeting: hola}" | "$KUBECTL" apply -f - >/dev/null
if until_ok 30 bash -c "[[ \$($KUBECTL get configmap story-greeting -n $NS -o jsonpath='{.data.greeting}') == hola ]]"; then ok "resumed"; else bad "not resumed"; fi

say "stories: dependsOn"
release second 0.2.0 "  dependsOn: [{name: first}]" | "$KUBECTL" apply -f - >/dev/null
sleep 6
reason=$(cond second Ready reason)
if [[ "$reason" == DependencyNotReady ]] && ! exists configmap/second-greeting; then ok "second waits for first ($reason)"; else bad "second did not wait: '$reason'"; fi
release first 0.2.0 | "$KUBECTL" apply -f - >/dev/null
if wait_ready first && wait_ready second 60s; then ok "first, then second Ready"; else bad "dependsOn: $(cond second Ready message)"; fi

if command -v helm >/dev/null; then
    say "stories: helm reads the release records"
    if helm list -n "$NS" 2>/dev/null | grep -q "^story"; then ok "helm list shows story"; else bad "helm list: $(helm list -n "$NS" 2>&1)"; fi
    if helm get manifest story -n "$NS" 2>/dev/null | grep -q "name: story-greeting"; then ok "helm get manifest"; else bad "helm get manifest"; fi
fi

say "stories: delete"
"$KUBECTL" patch scr first -n "$NS" --type=merge -p '{"spec":{"uninstall":{"deletionPolicy":"Orphan"}}}' >/dev/null
"$KUBECTL" delete scr second -n "$NS" --timeout=60s >/dev/null
"$KUBECTL" delete scr first -n "$NS" --timeout=60s >/dev/null
if ! exists configmap/second-greeting && ! exists service/second; then ok "Delete removed second's objects"; else bad "second's objects left"; fi
owner=$("$KUBECTL" get configmap first-greeting -n "$NS" -o jsonpath='{.metadata.annotations.signet\.dev/owner}' 2>/dev/null || true)
if exists configmap/first-greeting && [[ -z "$owner" ]]; then ok "Orphan kept first's objects without our marks"; else bad "Orphan: exists=$(exists configmap/first-greeting && echo yes) owner='$owner'"; fi

if ! kill -0 "$controller_pid" 2>/dev/null; then bad "controller died: $(tail -5 "$work/controller.log")"; fi
if grep -q "panicked" "$work/controller.log"; then bad "controller panicked"; fi
say "stories: $pass passed, $fail failed"
[[ "$fail" -eq 0 ]]
