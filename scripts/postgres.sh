#!/usr/bin/env bash
# A private PostgreSQL server for complaint_flow's tests and for trying the
# PostgreSQL store: its own cluster in a temporary directory, on its own port,
# reachable only from this machine, with trust authentication. Never use it for
# real data: it runs with fsync off.
#
#   bash scripts/postgres.sh start   # install if needed, start, print the URL
#   bash scripts/postgres.sh url     # print the URL
#   bash scripts/postgres.sh status  # say whether it runs (exit 0 if it does)
#   bash scripts/postgres.sh stop    # stop it (the data directory stays)
#
# `start` and `url` print only the URL on standard output (progress goes to standard
# error), so a script can do:
#
#   url=$(bash scripts/postgres.sh start)
#   export COMPLAINT_FLOW_TEST_POSTGRES_URL="$url"
#
# Debian's `postgresql` package is installed with apt-get when no PostgreSQL server
# programs are found (that needs root). As root, the server runs as the `postgres`
# user: PostgreSQL refuses to run as root. Everything may be moved with these
# variables (defaults in brackets):
#   COMPLAINT_FLOW_PG_DIR   [/tmp/complaint_flow_pg]  data, socket and log directory
#   COMPLAINT_FLOW_PG_PORT  [55432]                   TCP port on 127.0.0.1
#   COMPLAINT_FLOW_PG_DB    [complaint_flow]          database created for the tests
set -euo pipefail

base_dir="${COMPLAINT_FLOW_PG_DIR:-/tmp/complaint_flow_pg}"
port="${COMPLAINT_FLOW_PG_PORT:-55432}"
database="${COMPLAINT_FLOW_PG_DB:-complaint_flow}"
data_dir="${base_dir}/data"
socket_dir="${base_dir}/socket"
log_file="${base_dir}/server.log"
superuser=postgres
url="postgresql://${superuser}@127.0.0.1:${port}/${database}"

say() { echo "postgres.sh: $*" >&2; }
die() {
    say "$*"
    exit 1
}

# The directory of initdb/pg_ctl: on PATH, or Debian's newest /usr/lib/postgresql/N/bin.
find_bin_dir() {
    local initdb
    if initdb=$(command -v initdb 2>/dev/null) && [ -x "$(dirname "$initdb")/pg_ctl" ]; then
        dirname "$(readlink -f "$initdb")"
        return 0
    fi
    local candidate
    candidate=$(find /usr/lib/postgresql -mindepth 3 -maxdepth 3 -path '*/bin/initdb' \
        2>/dev/null | sort -V | tail -n 1)
    [ -n "$candidate" ] && [ -x "$(dirname "$candidate")/pg_ctl" ] || return 1
    dirname "$candidate"
}

install_postgresql() {
    [ "$(id -u)" -eq 0 ] || die "PostgreSQL is not installed and installing it needs root; \
run: sudo apt-get install postgresql (or install PostgreSQL another way) and try again"
    command -v apt-get >/dev/null || die "PostgreSQL is not installed and apt-get is missing; \
install PostgreSQL's server programs (initdb, pg_ctl) and try again"
    say "installing PostgreSQL with apt-get (Debian's postgresql package)"
    apt-get update -qq >&2
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >&2
}

# Runs a server program as the user the cluster belongs to.
as_server_user() {
    if [ "$(id -u)" -eq 0 ]; then
        if command -v runuser >/dev/null; then
            runuser -u "$superuser" -- "$@"
        else
            su "$superuser" -s /bin/sh -c "$(printf '%q ' "$@")"
        fi
    else
        "$@"
    fi
}

is_running() {
    [ -f "${data_dir}/PG_VERSION" ] && as_server_user "${bin_dir}/pg_ctl" status -D "$data_dir" \
        >/dev/null 2>&1
}

prepare_directories() {
    mkdir -p "$base_dir" "$socket_dir"
    if [ "$(id -u)" -eq 0 ]; then
        id "$superuser" >/dev/null 2>&1 || die "running as root, but there is no '$superuser' \
user to run the server as (Debian's postgresql package creates it)"
        chown "$superuser" "$base_dir" "$socket_dir"
        chmod 700 "$base_dir"
    fi
}

init_cluster() {
    local version
    version=$("${bin_dir}/pg_ctl" --version | sed -E 's/^[^0-9]*([0-9]+).*/\1/')
    if [ -f "${data_dir}/PG_VERSION" ] && [ "$(cat "${data_dir}/PG_VERSION")" != "$version" ]; then
        say "${data_dir} was made by PostgreSQL $(cat "${data_dir}/PG_VERSION"), not ${version}: \
making a new cluster"
        rm -rf "$data_dir"
    fi
    [ -f "${data_dir}/PG_VERSION" ] && return 0
    rm -rf "$data_dir"
    say "creating a cluster in ${data_dir}"
    as_server_user "${bin_dir}/initdb" -D "$data_dir" -U "$superuser" --auth=trust \
        --encoding=UTF8 --locale=C --no-sync >&2
    # A throwaway test server: no durability to pay for, nothing reachable from outside.
    cat >>"${data_dir}/postgresql.conf" <<EOF

# complaint_flow test server (scripts/postgres.sh)
listen_addresses = '127.0.0.1'
port = ${port}
unix_socket_directories = '${socket_dir}'
max_connections = 200
fsync = off
synchronous_commit = off
full_page_writes = off
EOF
}

start() {
    bin_dir=$(find_bin_dir) || {
        install_postgresql
        bin_dir=$(find_bin_dir) || die "PostgreSQL was installed but initdb/pg_ctl are not found"
    }
    prepare_directories
    if is_running; then
        say "already running on port ${port} (data in ${data_dir})"
    else
        init_cluster
        say "starting PostgreSQL on 127.0.0.1:${port} (log: ${log_file})"
        # Keep the log outside the data directory; the server user must be able to write it.
        touch "$log_file"
        [ "$(id -u)" -ne 0 ] || chown "$superuser" "$log_file"
        if ! as_server_user "${bin_dir}/pg_ctl" start -D "$data_dir" -l "$log_file" -w -t 60 \
            >&2; then
            tail -n 20 "$log_file" >&2 || true
            die "the server did not start; the log above says why (is port ${port} taken? \
set COMPLAINT_FLOW_PG_PORT to use another)"
        fi
    fi
    local psql=("${bin_dir}/psql" -X -q -h 127.0.0.1 -p "$port" -U "$superuser" -d postgres)
    if [ "$("${psql[@]}" -tAc "SELECT 1 FROM pg_database WHERE datname = '${database}'")" != 1 ]
    then
        say "creating database ${database}"
        "${psql[@]}" -c "CREATE DATABASE \"${database}\"" >&2
    fi
    echo "$url"
}

stop() {
    bin_dir=$(find_bin_dir) || {
        say "PostgreSQL is not installed: nothing to stop"
        return 0
    }
    if is_running; then
        as_server_user "${bin_dir}/pg_ctl" stop -D "$data_dir" -m fast -w >&2
    else
        say "not running"
    fi
}

status() {
    bin_dir=$(find_bin_dir) || die "PostgreSQL is not installed"
    if is_running; then
        say "running on port ${port}: ${url}"
    else
        say "not running"
        return 3
    fi
}

case "${1:-}" in
start) start ;;
stop) stop ;;
status) status ;;
url) echo "$url" ;;
*)
    echo "usage: bash scripts/postgres.sh start|stop|status|url" >&2
    exit 2
    ;;
esac
