#!/usr/bin/env bash
# Regenerates templates/Cargo.lock, the lockfile every generated project ships.
#
# It resolves one manifest that depends on every crate of every provider (newest versions the
# pinned minors allow), so each generated project finds its dependencies locked; cargo drops
# the entries a project does not use on its first build. Run it after changing a dependency in
# a manifest, then run the smoke matrix (`OMNISTACK_SMOKE=all cargo test --test smoke`) so the
# versions shipped are versions that were tested, and commit the lockfile with the change.
set -euo pipefail
cd "$(dirname "$0")/.."
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
cargo run --quiet -- superset-manifest > "$work/Cargo.toml"
mkdir -p "$work/src" && : > "$work/src/lib.rs"
(cd "$work" && cargo generate-lockfile --quiet)
cp "$work/Cargo.lock" templates/Cargo.lock
echo "templates/Cargo.lock: $(grep -c '^name = ' templates/Cargo.lock) packages"
