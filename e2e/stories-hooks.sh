#!/usr/bin/env bash
# Helm hooks and remediation against a real cluster (the one KUBECONFIG names), checked with
# kubectl and helm as a user would: a local registry, charts packaged, pushed and signed with
# `signet`, `signet-controller` running out of cluster.
#
# - install runs the pre-install and post-install hooks (ConfigMaps, so no node is needed) in
#   weight order, with their delete policies, and `helm get hooks` shows them;
# - an upgrade whose pre-upgrade hook Job fails is rolled back (spec.upgrade.remediation): the
#   release's objects keep the old version and `helm history` reads superseded / failed /
#   deployed "Rollback to 1". On a cluster with nodes the Job fails by itself (`exit 1`); on a
#   cluster without nodes it never runs and fails by timeout (spec.timeout 20s) — the story says
#   which; under the test double's workload runner its `test.signet.dev/outcome: fail` fails it;
# - deleting the release runs its pre-delete hook.
#
#   KUBECONFIG=~/.kube/kind-config bash e2e/stories-hooks.sh
#
# Environment: KUBECTL, SIGNET_BIN_DIR, SIGNET_E2E_KEEP=1 as for e2e/stories.sh.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
# shellcheck source=e2e/lib.sh
source "$root/e2e/lib.sh"
story_setup stories-hooks signet-hooks

# --- charts: 0.1.0 with ConfigMap hooks; 0.2.0 adds a pre-upgrade Job that fails ---
hook_cm() { # name events weight policy
    cat <<T
---
apiVersion: v1
kind: ConfigMap
metadata:
  name: {{ .Release.Name }}-$1
  annotations:
    helm.sh/hook: $2
    helm.sh/hook-weight: "$3"
${4:+    helm.sh/hook-delete-policy: $4}
data:
  revision: {{ .Release.Revision | quote }}
T
}
chart() {
    local version=$1 dir="$work/src-$1/hooked"
    mkdir -p "$dir/templates"
    printf 'apiVersion: v2\nname: hooked\nversion: %s\n' "$version" >"$dir/Chart.yaml"
    printf 'greeting: hello\n' >"$dir/values.yaml"
    cat >"$dir/templates/configmap.yaml" <<'T'
apiVersion: v1
kind: ConfigMap
metadata:
  name: {{ .Release.Name }}-greeting
data:
  version: {{ .Chart.Version | quote }}
T
    {
        hook_cm first pre-install -5 ""
        hook_cm second pre-install 0 ""
        hook_cm scratch pre-install 3 hook-succeeded
        hook_cm done post-install,post-upgrade 0 ""
        hook_cm goodbye pre-delete 0 ""
    } >"$dir/templates/hooks.yaml"
    if [[ "$version" == 0.2.0 ]]; then
        cat >"$dir/templates/migrate.yaml" <<'T'
apiVersion: batch/v1
kind: Job
metadata:
  name: {{ .Release.Name }}-migrate
  annotations:
    helm.sh/hook: pre-upgrade
    test.signet.dev/outcome: fail
    test.signet.dev/message: migration failed
spec:
  backoffLimit: 0
  template:
    spec:
      restartPolicy: Never
      containers:
        - name: migrate
          image: busybox:1.36
          command: ["sh", "-c", "echo migration failed; exit 1"]
T
    fi
    "$signet" package "$dir" -d "$work/pkg" >/dev/null
    "$signet" push "$work/pkg/hooked-$version.tgz" "oci://$host/e2e" --plain-http >/dev/null
    "$signet" sign "oci://$host/e2e/hooked:$version" --key "$work/cosign.key" --plain-http >/dev/null
}
export COSIGN_PASSWORD=stories
(cd "$work" && "$signet" generate-key-pair >/dev/null 2>&1)
chart 0.1.0
chart 0.2.0
ok "registry $host: hooked 0.1.0 and 0.2.0 (failing pre-upgrade Job), signed"

"$KUBECTL" apply --server-side --force-conflicts -f crds/signet.dev_signedchartreleases.yaml >/dev/null
"$KUBECTL" wait --for condition=established --timeout=60s crd/signedchartreleases.signet.dev >/dev/null
"$KUBECTL" create namespace "$NS" >/dev/null
"$KUBECTL" create secret generic signet-keys -n "$NS" --from-file=cosign.pub="$work/cosign.pub" >/dev/null
"$bin/signet-controller" --watch-namespace "$NS" --health-addr 127.0.0.1:0 --metrics-addr 127.0.0.1:0 \
    >"$work/controller.log" 2>&1 &
controller_pid=$!
ok "controller running (pid $controller_pid), namespace $NS"

release() { # version
    cat <<YAML
apiVersion: signet.dev/v1alpha1
kind: SignedChartRelease
metadata:
  name: hooked
  namespace: $NS
spec:
  chart:
    repository: oci://$host/e2e/hooked
    version: "$1"
    registry:
      plainHTTP: true
  verify:
    requireTransparencyLog: false
    authorities:
      - name: team
        key:
          secretRef: {name: signet-keys, key: cosign.pub}
  interval: 3s
  timeout: 20s
  upgrade:
    remediation:
      retries: 0
      strategy: rollback
YAML
}
cond() { "$KUBECTL" get scr hooked -n "$NS" -o jsonpath="{.status.conditions[?(@.type==\"$1\")].$2}" 2>/dev/null; }
exists() { "$KUBECTL" get "$1" -n "$NS" >/dev/null 2>&1; }
data() { "$KUBECTL" get configmap "$1" -n "$NS" -o jsonpath="{.data.$2}" 2>/dev/null; }
until_ok() { local t=$1; shift; for _ in $(seq 1 "$t"); do "$@" && return 0; sleep 1; done; return 1; }

say "stories-hooks: install runs the install hooks"
release 0.1.0 | "$KUBECTL" apply -f - >/dev/null
if "$KUBECTL" wait scr/hooked -n "$NS" --for=condition=Ready --timeout=90s >/dev/null 2>&1; then
    ok "Ready"
else
    bad "not Ready: $(cond Ready message)"
fi
if exists configmap/hooked-first && exists configmap/hooked-second && exists configmap/hooked-done; then
    ok "pre-install and post-install hooks created their objects"
else
    bad "hook objects missing"
fi
if ! exists configmap/hooked-scratch; then ok "hook-succeeded deleted its hook"; else bad "hook-succeeded hook left"; fi
if ! exists configmap/hooked-goodbye; then ok "pre-delete hook not run on install"; else bad "pre-delete hook ran on install"; fi
first=$("$KUBECTL" get configmap hooked-first -n "$NS" -o jsonpath='{.metadata.creationTimestamp}')
managed=$("$KUBECTL" get configmap hooked-first -n "$NS" -o jsonpath='{.metadata.labels.app\.kubernetes\.io/managed-by}')
if [[ -n "$first" && -z "$managed" ]]; then ok "hook objects carry no release marks"; else bad "hook marks: '$managed'"; fi
if command -v helm >/dev/null; then
    hooks=$(helm get hooks hooked -n "$NS" 2>&1 || true)
    if grep -q "name: hooked-first" <<<"$hooks" && grep -q "helm.sh/hook: pre-delete" <<<"$hooks"; then
        ok "helm get hooks shows the recorded hooks"
    else
        bad "helm get hooks: $hooks"
    fi
fi

say "stories-hooks: a failing pre-upgrade hook is rolled back"
release 0.2.0 | "$KUBECTL" apply -f - >/dev/null
if until_ok 90 bash -c "[[ \$($KUBECTL get scr hooked -n $NS -o jsonpath='{.status.conditions[?(@.type==\"Ready\")].reason}') == RolledBack ]]"; then
    message=$(cond Ready message)
    case "$message" in
    *"did not finish in time"*) ok "rolled back after the hook Job timed out (no node ran it): ${message:0:160}" ;;
    *"failed:"*) ok "rolled back after the hook Job failed: ${message:0:160}" ;;
    *) bad "unexpected message: $message" ;;
    esac
else
    bad "not rolled back: $(cond Ready reason): $(cond Ready message)"
fi
if [[ "$(data hooked-greeting version)" == 0.1.0 ]]; then ok "the release's objects kept 0.1.0"; else bad "greeting version: $(data hooked-greeting version)"; fi
if command -v helm >/dev/null; then
    history=$(helm history hooked -n "$NS" 2>&1 || true)
    say "$history"
    statuses=$(helm history hooked -n "$NS" -o json 2>/dev/null |
        python3 -c 'import json, sys; print(" ".join(r["status"] for r in json.load(sys.stdin)))' || true)
    if [[ "$statuses" == "superseded failed deployed" ]] && grep -q "Rollback to 1" <<<"$history"; then
        ok "helm history: superseded / failed / deployed (Rollback to 1)"
    else
        bad "helm history statuses: '$statuses'"
    fi
fi
sleep 6
records=$("$KUBECTL" get secrets -n "$NS" -l owner=helm,name=hooked -o name | wc -l)
if [[ "$(cond Ready reason)" == RolledBack && "$records" -eq 3 ]]; then
    ok "held: not retried while the inputs are unchanged"
else
    bad "retried: $(cond Ready reason), $records revisions"
fi

say "stories-hooks: delete runs the pre-delete hook"
"$KUBECTL" delete scr hooked -n "$NS" --timeout=60s >/dev/null
if exists configmap/hooked-goodbye && ! exists configmap/hooked-greeting; then
    ok "pre-delete hook ran, release objects deleted"
else
    bad "delete: goodbye=$(exists configmap/hooked-goodbye && echo yes) greeting=$(exists configmap/hooked-greeting && echo yes)"
fi

if ! kill -0 "$controller_pid" 2>/dev/null; then bad "controller died: $(tail -5 "$work/controller.log")"; fi
if grep -q "panicked" "$work/controller.log"; then bad "controller panicked"; fi
say "stories-hooks: $pass passed, $fail failed"
[[ "$fail" -eq 0 ]]
