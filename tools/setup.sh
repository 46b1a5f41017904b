#!/usr/bin/env bash
# setup.sh — install what digitlens needs and is missing; quiet when all is there.
#   Debian: emscripten binaryen libjsmn-dev libcmocka-dev libpng-dev chromium
#           clang-14 libclang-rt-14-dev libomp-14-dev valgrind (fuzzing, sanitizers)
#   npm:    node_modules from package-lock.json (npm ci)
set -euo pipefail
cd "$(dirname "$0")/.."

die() { echo "setup: $*" >&2; exit 1; }

debs=(emscripten binaryen libjsmn-dev libcmocka-dev libpng-dev chromium
      clang-14 libclang-rt-14-dev libomp-14-dev valgrind)
missing=()
for p in "${debs[@]}"; do
    st=$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null || true)
    [[ $st == "install ok installed" ]] || missing+=("$p")
done

if ((${#missing[@]})); then
    echo "setup: installing ${missing[*]}" >&2
    if ((EUID == 0)); then
        sudo=()
    elif command -v sudo >/dev/null; then
        sudo=(sudo)
    else
        die "missing Debian packages (${missing[*]}), and not root and no sudo to install them"
    fi
    "${sudo[@]}" apt-get update -q >/dev/null ||
        die "apt-get update failed; install by hand: apt-get install ${missing[*]}"
    "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -q "${missing[@]}" >/dev/null ||
        die "apt-get install failed for: ${missing[*]}"
fi

# npm writes node_modules/.package-lock.json on every install: if the lock file
# is newer than it (or it is absent), node_modules is stale.
if [[ ! -d node_modules || package-lock.json -nt node_modules/.package-lock.json ]]; then
    command -v npm >/dev/null || die "npm not found (Node 20 with npm is required)"
    echo "setup: npm ci" >&2
    npm ci --no-audit --no-fund --loglevel=error >/dev/null || die "npm ci failed"
fi
