#!/usr/bin/env bash
# Runs every test of nemid on a fresh Debian machine with Go: installs what
# the tests need (Debian packages), makes sure a PostgreSQL server is
# reachable (starting a private one if none is), then runs vet, gofmt, the Go
# tests and govulncheck. Exits non-zero on the first failure.
set -euo pipefail
export GOTOOLCHAIN=go1.27.3
cd "$(dirname "$0")/.."

step() { printf '\n=== %s\n' "$*"; }

# --- Debian packages -------------------------------------------------------
# chromium (with a font, for readable screenshots) runs the browser tests of
# cmd/nemid (TestE2E; screenshots in $NEMID_E2E_ARTIFACTS, default
# $TMPDIR/nemid-e2e).
need=(gcc libc6-dev openssl softhsm2 opensc xmlsec1 ldap-utils sqlite3 postgresql poppler-utils
      chromium fonts-dejavu-core)
missing=()
for p in "${need[@]}"; do
  dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p")
done
if ((${#missing[@]})); then
  step "installing ${missing[*]}"
  SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO=sudo
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${missing[@]}" >/dev/null
fi

# --- PostgreSQL --------------------------------------------------------------
# The storage tests run against PostgreSQL as well as SQLite; they fail (never
# skip) when it cannot be reached, so make sure one is there.
export NEMID_TEST_POSTGRES="${NEMID_TEST_POSTGRES:-postgres://127.0.0.1:5432/test?sslmode=disable}"
pg_up() { psql "$NEMID_TEST_POSTGRES" -Atqc 'select 1' >/dev/null 2>&1; }
if ! pg_up; then
  step "PostgreSQL not reachable at $NEMID_TEST_POSTGRES: starting one"
  if ls /etc/postgresql/*/main >/dev/null 2>&1; then
    pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql | head -1)" main start 2>/dev/null || true
    sleep 2
  fi
  if ! pg_up; then
    # A private throw-away cluster (initdb refuses root, so run as postgres).
    bindir=$(dirname "$(dpkg -L "$(dpkg -l 'postgresql-[0-9]*' | awk '/^ii/{print $2; exit}')" | grep 'bin/initdb$')")
    pgdir=$(mktemp -d /tmp/nemid-pg.XXXXXX)
    chown postgres "$pgdir"
    runuser -u postgres -- "$bindir/initdb" -D "$pgdir/data" -U test --auth=trust >/dev/null
    runuser -u postgres -- "$bindir/pg_ctl" -D "$pgdir/data" -l "$pgdir/log" \
      -o "-p 55432 -k $pgdir -c listen_addresses=127.0.0.1 -c fsync=off" -w start >/dev/null
    runuser -u postgres -- "$bindir/createdb" -h 127.0.0.1 -p 55432 -U test test
    export NEMID_TEST_POSTGRES="postgres://test@127.0.0.1:55432/test?sslmode=disable"
  fi
  pg_up || { echo "FATAL: no PostgreSQL server reachable; the storage tests need one" >&2; exit 1; }
fi
echo "PostgreSQL: $NEMID_TEST_POSTGRES"

# --- Static checks -----------------------------------------------------------
step "gofmt"
unformatted=$(gofmt -l $(git ls-files '*.go'))
[ -z "$unformatted" ] || { echo "gofmt would change:"; echo "$unformatted"; exit 1; }
step "go vet"
go vet ./...

# --- Tests -------------------------------------------------------------------
step "go test"
go test -count=1 -timeout 20m ./...
step "go test -race (concurrency-critical packages)"
go test -count=1 -race -timeout 20m ./internal/store/... ./internal/ca/keys/... ./internal/auth/... \
  ./internal/audit/... ./internal/cpr/... ./ooapi/revocation/...
go test -count=1 -race -timeout 20m -run 'TestParallelLogonsNeverCross/postgres|TestRestartMidLogon|TestCancel' ./internal/idp/

# --- Vulnerabilities ---------------------------------------------------------
step "govulncheck (offline database)"
scripts/govulncheck.sh

echo
echo "all tests passed"
