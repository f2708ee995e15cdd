# Shared by e2e/stories.sh and e2e/scale.sh (sourced, not run): a throwaway local registry on the
# host, and the clean-up both scripts do. Expects KUBECTL, NS and work to be set by the caller.

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
