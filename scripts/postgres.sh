# Sourced by scripts/test.sh and scripts/bench.sh: a throw-away PostgreSQL (Debian's) for tests.
#   pg_start   initdb + pg_ctl in a temp dir, listening on 127.0.0.1 at a free port; sets PG_URL
#              (postgres://facegate@127.0.0.1:PORT/, superuser facegate, trust auth on loopback)
#              and PG_DATA. As root it runs PostgreSQL as the unprivileged `postgres` user
#              (initdb refuses root), otherwise as the current user.
#   pg_stop    stops it and removes the temp dir.
#   pg_ctl_run stop|start ...: pg_ctl on that cluster (the tests stop and start it).

pg_bin() {
    local dir
    dir=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)
    if [ -z "$dir" ] || [ ! -x "$dir/initdb" ]; then
        echo "postgres: Debian's postgresql is not installed (make setup installs it)" >&2
        return 1
    fi
    echo "$dir"
}

pg_as_owner() {
    if [ "$(id -u)" -eq 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}

pg_free_port() {
    python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

pg_start() {
    local bin port
    bin=$(pg_bin) || return 1
    PG_DIR=$(mktemp -d "${TMPDIR:-/tmp}/facegate-pg.XXXXXX") || return 1
    [ "$(id -u)" -eq 0 ] && chown postgres: "$PG_DIR"
    PG_DATA=$PG_DIR/data
    port=$(pg_free_port) || return 1
    if ! pg_as_owner "$bin/initdb" -D "$PG_DATA" -U facegate -A trust -E UTF8 --no-sync \
        >"$PG_DIR/initdb.log" 2>&1; then
        echo "postgres: initdb failed:" >&2
        cat "$PG_DIR/initdb.log" >&2
        return 1
    fi
    PG_OPTS="-h 127.0.0.1 -p $port -k $PG_DIR -c max_connections=200"
    export PG_BIN_DIR=$bin PG_DATA PG_OPTS PG_DIR
    pg_ctl_run start || return 1
    export PG_URL="postgres://facegate@127.0.0.1:$port/"
    echo "postgres: PostgreSQL $("$bin/postgres" -V | awk '{print $3}') on 127.0.0.1:$port ($PG_DATA)" >&2
}

pg_ctl_run() {
    local what=$1
    shift
    pg_as_owner "$PG_BIN_DIR/pg_ctl" -D "$PG_DATA" -l "$PG_DIR/postgres.log" -o "$PG_OPTS" -w \
        -m fast "$what" "$@" >/dev/null
}

pg_stop() {
    [ -n "${PG_DIR:-}" ] || return 0
    pg_ctl_run stop 2>/dev/null
    rm -rf "$PG_DIR"
    unset PG_DIR PG_URL PG_DATA
}
