#!/usr/bin/env bash
# govulncheck against an offline copy of the Go vulnerability database, built
# from the golang.org/x/vulndb module (the public vulnerability service cannot
# be reached from our machines). Fails on any reachable vulnerability.
set -euo pipefail
export GOTOOLCHAIN=go1.27.3
cd "$(dirname "$0")/.."
VULNDB_VERSION=v0.0.0-20261105234957-e22db6528018
GOVULNCHECK_VERSION=v1.9.0
cache="${XDG_CACHE_HOME:-$HOME/.cache}/nemid/vulndb-$VULNDB_VERSION"
if [ ! -f "$cache/index/db.json" ]; then
  go mod download "golang.org/x/vulndb@$VULNDB_VERSION"
  src="$(go env GOMODCACHE)/golang.org/x/vulndb@$VULNDB_VERSION/data/osv"
  rm -rf "$cache.tmp" && mkdir -p "$cache.tmp"
  go run "golang.org/x/vulndb/cmd/indexdb@$VULNDB_VERSION" -vulns "$src" -out "$cache.tmp"
  rm -rf "$cache" && mv "$cache.tmp" "$cache"
fi
go run "golang.org/x/vuln/cmd/govulncheck@$GOVULNCHECK_VERSION" -db "file://$cache" ./...
