#!/usr/bin/env bash
# A private Dovecot IMAP server for complaint_flow's tests and for trying the IMAP
# mailbox reader: its own configuration, TLS certificate, users and Maildir in a
# temporary directory, listening only on 127.0.0.1 on its own ports. It never reads
# or changes the system's /etc/dovecot. Never use it for real mail: the password is a
# test password kept in plain text, and it writes with fsync off.
#
#   bash scripts/dovecot.sh start           # install if needed, start, print the IMAPS URL
#   bash scripts/dovecot.sh url [SECURITY]  # print a URL: ssl (IMAPS, the default),
#                                           # starttls, or none (plain text)
#   bash scripts/dovecot.sh status          # say whether it runs (exit 0 if it does)
#   bash scripts/dovecot.sh stop            # stop it (the mail stays)
#   bash scripts/dovecot.sh doveadm ARGS... # run doveadm on it as the server's user, e.g.
#       bash scripts/dovecot.sh doveadm mailbox status -u complaints all INBOX
#
# `start` and `url` print only the URL on standard output (progress goes to standard
# error), so a script can do:
#
#   url=$(bash scripts/dovecot.sh start)
#   export COMPLAINT_FLOW_TEST_IMAP_URL="$url"
#
# The URLs are what ImapSettings.from_url reads, e.g.
#   imaps://complaints:secret@127.0.0.1:51993/INBOX?cafile=/tmp/complaint_flow_dovecot/tls/cert.pem
# The certificate is self-signed, made with openssl at each start; `cafile` points at
# it so that clients can verify the server without turning verification off.
# Messages are put in the mailbox over IMAP (APPEND), as a client sees a delivery.
#
# Debian's `dovecot-imapd` package is installed with apt-get when Dovecot is not found
# (that needs root). The server runs as an ordinary user (Dovecot's "rootless" mode):
# as root, as the `dovecot` user the package creates; otherwise as the caller.
# Everything may be moved with these variables (defaults in brackets):
#   COMPLAINT_FLOW_DOVECOT_DIR  [/tmp/complaint_flow_dovecot]  configuration, mail, log
#   COMPLAINT_FLOW_IMAP_PORT    [51143]   IMAP port on 127.0.0.1 (STARTTLS or plain)
#   COMPLAINT_FLOW_IMAPS_PORT   [51993]   IMAPS port on 127.0.0.1 (TLS from the start)
#   COMPLAINT_FLOW_IMAP_USER    [complaints]  the test user
#   COMPLAINT_FLOW_IMAP_PASSWORD [secret]     its password
set -euo pipefail

base_dir="${COMPLAINT_FLOW_DOVECOT_DIR:-/tmp/complaint_flow_dovecot}"
imap_port="${COMPLAINT_FLOW_IMAP_PORT:-51143}"
imaps_port="${COMPLAINT_FLOW_IMAPS_PORT:-51993}"
mail_user="${COMPLAINT_FLOW_IMAP_USER:-complaints}"
mail_password="${COMPLAINT_FLOW_IMAP_PASSWORD:-secret}"
config="${base_dir}/dovecot.conf"
run_dir="${base_dir}/run"
tls_dir="${base_dir}/tls"
log_file="${base_dir}/dovecot.log"
startup_log="${base_dir}/startup.log"
cert="${tls_dir}/cert.pem"

say() { echo "dovecot.sh: $*" >&2; }
die() {
    say "$*"
    exit 1
}

find_dovecot() {
    command -v dovecot 2>/dev/null || { [ -x /usr/sbin/dovecot ] && echo /usr/sbin/dovecot; }
}

install_dovecot() {
    [ "$(id -u)" -eq 0 ] || die "Dovecot is not installed and installing it needs root; \
run: sudo apt-get install dovecot-imapd (or install Dovecot another way) and try again"
    command -v apt-get >/dev/null || die "Dovecot is not installed and apt-get is missing; \
install Dovecot's IMAP server (the dovecot program) and try again"
    say "installing Dovecot with apt-get (Debian's dovecot-imapd package)"
    apt-get update -qq >&2
    # The package's own service is not wanted: this script runs a private one.
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq dovecot-imapd >&2
}

# The user the server runs as: Dovecot refuses mail processes as root, and running every
# process as one ordinary user keeps the server out of the system's way.
server_user() {
    if [ "$(id -u)" -eq 0 ]; then
        id dovecot >/dev/null 2>&1 || die "running as root, but there is no 'dovecot' user \
to run the server as (Debian's dovecot-core package creates it)"
        echo dovecot
    else
        id -un
    fi
}

as_server_user() {
    if [ "$(id -u)" -eq 0 ]; then
        if command -v runuser >/dev/null; then
            runuser -u "$run_user" -- "$@"
        else
            su "$run_user" -s /bin/sh -c "$(printf '%q ' "$@")"
        fi
    else
        "$@"
    fi
}

url_for() {
    local security="${1:-ssl}"
    local query="cafile=${cert}"
    case "$security" in
    ssl) echo "imaps://${mail_user}:${mail_password}@127.0.0.1:${imaps_port}/INBOX?${query}" ;;
    starttls) echo "imap://${mail_user}:${mail_password}@127.0.0.1:${imap_port}/INBOX?${query}" ;;
    none) echo "imap://${mail_user}:${mail_password}@127.0.0.1:${imap_port}/INBOX?security=none" ;;
    *) die "unknown security '${security}': use ssl, starttls or none" ;;
    esac
}

master_pid() {
    [ -f "${run_dir}/master.pid" ] && cat "${run_dir}/master.pid"
}

is_running() {
    local pid
    pid=$(master_pid 2>/dev/null) || return 1
    [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null
}

make_certificate() {
    mkdir -p "$tls_dir"
    # A fresh self-signed certificate at each start, valid for 127.0.0.1 and localhost.
    openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 30 \
        -subj "/CN=complaint_flow test IMAP server" \
        -addext "subjectAltName=IP:127.0.0.1,DNS:localhost" \
        -addext "basicConstraints=critical,CA:TRUE" \
        -addext "keyUsage=critical,digitalSignature,keyCertSign" \
        -addext "extendedKeyUsage=serverAuth" \
        -keyout "${tls_dir}/key.pem" -out "$cert" 2>/dev/null ||
        die "openssl could not make the test certificate (is openssl installed?)"
    chmod 600 "${tls_dir}/key.pem"
    chmod 644 "$cert"
}

write_config() {
    local uid gid group
    uid=$(id -u "$run_user")
    gid=$(id -g "$run_user")
    group=$(id -gn "$run_user")
    mkdir -p "$run_dir" "${base_dir}/mail" "${base_dir}/state"
    # The test user: "user:{scheme}password:uid:gid::home"; mail lives under home.
    printf '%s:{PLAIN}%s:%s:%s::%s\n' "$mail_user" "$mail_password" "$uid" "$gid" \
        "${base_dir}/mail/${mail_user}" >"${base_dir}/users"
    chmod 600 "${base_dir}/users"
    cat >"$config" <<EOF
# complaint_flow test IMAP server (scripts/dovecot.sh); nothing here is read from /etc.
base_dir = ${run_dir}
state_dir = ${base_dir}/state
instance_name = complaint_flow_dovecot_${imaps_port}
log_path = ${log_file}
protocols = imap
listen = 127.0.0.1

# Rootless: every process runs as ${run_user}, none is chrooted.
default_internal_user = ${run_user}
default_internal_group = ${group}
default_login_user = ${run_user}
first_valid_uid = ${uid}
last_valid_uid = ${uid}
first_valid_gid = ${gid}

ssl = yes
ssl_cert = <${cert}
ssl_key = <${tls_dir}/key.pem
ssl_min_protocol = TLSv1.2
# The IMAP port must also take a plain-text login, to test security="none".
disable_plaintext_auth = no
auth_mechanisms = plain login
auth_failure_delay = 0
passdb {
  driver = passwd-file
  args = scheme=PLAIN username_format=%u ${base_dir}/users
}
userdb {
  driver = passwd-file
  args = username_format=%u ${base_dir}/users
}
mail_location = maildir:~/Maildir
# A throwaway test server: no durability to pay for.
mail_fsync = never

service imap-login {
  chroot =
  inet_listener imap {
    address = 127.0.0.1
    port = ${imap_port}
  }
  inet_listener imaps {
    address = 127.0.0.1
    port = ${imaps_port}
    ssl = yes
  }
}
service anvil {
  chroot =
}
service stats {
  inet_listener http {
    port = 0
  }
}
protocol imap {
  mail_max_userip_connections = 200
}
EOF
    if [ "$(id -u)" -eq 0 ]; then
        chown -R "$run_user:$group" "$base_dir"
    fi
}

start() {
    local dovecot
    dovecot=$(find_dovecot) || {
        install_dovecot
        dovecot=$(find_dovecot) || die "Dovecot was installed but the dovecot program is not found"
    }
    run_user=$(server_user)
    mkdir -p "$base_dir"
    chmod 755 "$base_dir"
    if is_running; then
        say "already running on 127.0.0.1:${imaps_port} (IMAPS) and :${imap_port} (IMAP)"
    else
        make_certificate
        write_config
        : >"$log_file"
        : >"$startup_log"
        [ "$(id -u)" -ne 0 ] || chown "$run_user" "$log_file" "$startup_log"
        say "starting Dovecot on 127.0.0.1:${imaps_port} (IMAPS) and :${imap_port} (IMAP) \
as ${run_user} (log: ${log_file})"
        # The daemon would keep the caller's output open (a caller reading it, such as
        # `url=$(... start)`, would wait forever): its own start-up messages go to a file.
        if ! as_server_user "$dovecot" -c "$config" >"$startup_log" 2>&1; then
            cat "$startup_log" >&2 || true
            tail -n 20 "$log_file" >&2 || true
            die "Dovecot did not start; the messages above say why (is port ${imaps_port} or \
${imap_port} taken? set COMPLAINT_FLOW_IMAPS_PORT and COMPLAINT_FLOW_IMAP_PORT to use others)"
        fi
        wait_for_port "$imaps_port" && wait_for_port "$imap_port" || {
            tail -n 20 "$log_file" >&2 || true
            die "Dovecot started but does not answer on 127.0.0.1:${imaps_port}; its log is above"
        }
    fi
    url_for ssl
}

wait_for_port() {
    local port=$1 tries
    for tries in $(seq 1 100); do
        if (exec 3<>"/dev/tcp/127.0.0.1/${port}") 2>/dev/null; then
            return 0
        fi
        sleep 0.1
    done
    return 1
}

stop() {
    if ! is_running; then
        say "not running"
        return 0
    fi
    local pid tries process
    pid=$(master_pid)
    # The master leaves the processes of open connections running (they end when their
    # client leaves): a stopped server must drop its clients, so they are ended too.
    local children
    children=$(ps -o pid= --ppid "$pid" | tr -d ' ' | tr '\n' ' ')
    kill -TERM "$pid"
    for tries in $(seq 1 100); do
        if ! kill -0 "$pid" 2>/dev/null; then
            for process in $children; do
                kill -TERM "$process" 2>/dev/null || true
            done
            return 0
        fi
        sleep 0.1
    done
    die "Dovecot (pid ${pid}) did not stop within 10 seconds"
}

status() {
    if is_running; then
        say "running on 127.0.0.1:${imaps_port} (IMAPS) and :${imap_port} (IMAP): $(url_for ssl)"
    else
        say "not running"
        return 3
    fi
}

run_doveadm() {
    [ -f "$config" ] || die "no configuration in ${base_dir}: run 'bash scripts/dovecot.sh start' first"
    run_user=$(server_user)
    as_server_user doveadm -c "$config" "$@"
}

case "${1:-}" in
start) start ;;
doveadm)
    shift
    run_doveadm "$@"
    ;;
stop) stop ;;
status) status ;;
url) url_for "${2:-ssl}" ;;
*)
    echo "usage: bash scripts/dovecot.sh start|stop|status|url [ssl|starttls|none]|doveadm ARGS" >&2
    exit 2
    ;;
esac
