# Shared by the e2e scripts (sourced, not run): a throwaway local registry on the host, the
# clean-up, and the set-up every story script starts with. start_registry and remove_namespace expect
# KUBECTL, NS and work to be set (story_setup sets them); story_setup expects root (the repository).

# start_registry: Debian's docker-registry on a free 127.0.0.1 port, plain HTTP, data under $work;
# sets host (HOST:PORT) and registry_pid.
start_registry() {
    local port
    port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
    host="127.0.0.1:$port"
    cat >"$work/registry.yml" <<YAML
version: 0.1
log: {level: error, accesslog: {disabled: true}}
storage: {filesystem: {rootdirectory: $work/registry-data}, delete: {enabled: true}}
http: {addr: $host, secret: signet-e2e}
YAML
    /usr/bin/docker-registry serve "$work/registry.yml" >"$work/registry.log" 2>&1 &
    registry_pid=$!
    for _ in $(seq 1 100); do curl -fsS "http://$host/v2/" >/dev/null 2>&1 && break; sleep 0.1; done
    curl -fsS "http://$host/v2/" >/dev/null || { echo "e2e: registry did not start on $host" >&2; exit 2; }
}

# stop_processes PID…: stops what the script started; never fails.
stop_processes() {
    local pid
    for pid in "$@"; do
        [[ -n "$pid" ]] && kill "$pid" 2>/dev/null && wait "$pid" 2>/dev/null
    done
    return 0
}

# remove_namespace: deletes $NS and its releases. The releases' finalizer needs the controller,
# which is gone by now, so it is dropped first.
remove_namespace() {
    local r
    for r in $("$KUBECTL" get scr -n "$NS" -o name 2>/dev/null); do
        "$KUBECTL" patch "$r" -n "$NS" --type=merge -p '{"metadata":{"finalizers":null}}' >/dev/null 2>&1
    done
    "$KUBECTL" delete namespace "$NS" --wait=false >/dev/null 2>&1
    return 0
}

# story_setup NAME NS_PREFIX: what every story script does first (after `cd` to the repository and
# sourcing this file): the tools on PATH, say/ok/bad/die and the pass/fail counts, the checks that a
# cluster answers, the signet binaries (built unless SIGNET_BIN_DIR names them), a work dir, a
# throwaway namespace name, a registry, and the clean-up on exit (SIGNET_E2E_KEEP=1 keeps it all).
# Sets root-relative globals: KUBECTL NS pass fail bin signet work registry_pid controller_pid host.
story_setup() {
    story_name=$1
    export PATH="$root/.tools/bin:$PATH"
    KUBECTL="${KUBECTL:-kubectl}"
    NS="$2-$(date +%s)-$$"
    pass=0
    fail=0
    say() { printf '%s\n' "$*" >&2; }
    ok() { pass=$((pass + 1)); say "  ok    $*"; }
    bad() { fail=$((fail + 1)); say "  FAIL  $*"; }
    die() { say "$story_name: $*"; exit 2; }

    command -v "$KUBECTL" >/dev/null || die "$KUBECTL not found; install kubectl or set KUBECTL"
    [[ -n "${KUBECONFIG:-}" || -f "$HOME/.kube/config" ]] || die "set KUBECONFIG to the cluster to test against"
    "$KUBECTL" version >/dev/null 2>&1 || die "the cluster in KUBECONFIG does not answer"
    [[ -x /usr/bin/docker-registry ]] || die "/usr/bin/docker-registry not found; run 'make tools'"

    if [[ -n "${SIGNET_BIN_DIR:-}" ]]; then
        bin="$SIGNET_BIN_DIR"
    else
        say "$story_name: building signet and signet-controller"
        cargo build -q --bin signet --bin signet-controller
        bin="${CARGO_TARGET_DIR:-$root/target}/debug"
    fi
    signet="$bin/signet"

    work=$(mktemp -d -t "signet-$story_name.XXXXXX")
    registry_pid=""
    controller_pid=""
    trap story_cleanup EXIT
    export DOCKER_CONFIG="$work/docker"
    # A registry on the host: only the controller (out of cluster) pulls from it.
    start_registry
}

# The script's verdict is its status on entry; nothing in here may change it.
story_cleanup() {
    local status=$?
    set +e
    stop_processes "$controller_pid" "$registry_pid"
    if [[ "${SIGNET_E2E_KEEP:-}" == 1 ]]; then
        say "$story_name: keeping namespace $NS and $work (controller log: $work/controller.log)"
        exit "$status"
    fi
    remove_namespace
    rm -rf "$work"
    exit "$status"
}
