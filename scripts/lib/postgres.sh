# A throwaway PostgreSQL server on loopback for the tests (the order-chain example's
# warehouse keeps its inventory and payments in it). Sourced, not run.
#
# start_postgres: initialises a cluster in a temporary directory, starts it on a free port of
# 127.0.0.1 and exports WES_PG_URL (superuser `wes`, database `wes`; tests create their own
# databases from it). stop_postgres: stops it and removes the directory.

start_postgres() {
    local bin port as=()
    bin=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)
    [ -x "$bin/initdb" ] || {
        echo "error: PostgreSQL's server is not installed (Debian package postgresql)" >&2
        return 1
    }
    WES_PG_DIR=$(mktemp -d /tmp/wes-pg.XXXXXX)
    # PostgreSQL refuses to run as root: as root, it runs as Debian's `postgres` user.
    if [ "$(id -u)" -eq 0 ]; then
        chown postgres: "$WES_PG_DIR"
        as=(runuser -u postgres --)
    fi
    "${as[@]}" "$bin/initdb" -D "$WES_PG_DIR/data" -U wes --auth=trust -E UTF8 >"$WES_PG_DIR/initdb.log" 2>&1 || {
        cat "$WES_PG_DIR/initdb.log" >&2
        return 1
    }
    port=55432
    while (echo >"/dev/tcp/127.0.0.1/$port") 2>/dev/null; do
        port=$((port + 1))
    done
    # Durability against power loss is not what these tests check: fsync off makes them fast.
    "${as[@]}" "$bin/pg_ctl" -D "$WES_PG_DIR/data" -l "$WES_PG_DIR/server.log" -w -s \
        -o "-c listen_addresses=127.0.0.1 -p $port -k $WES_PG_DIR -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=200" \
        start || {
        cat "$WES_PG_DIR/server.log" >&2
        return 1
    }
    "${as[@]}" "$bin/createdb" -h 127.0.0.1 -p "$port" -U wes wes
    WES_PG_BIN=$bin
    export WES_PG_URL="postgresql://wes@127.0.0.1:$port/wes"
    echo "==> PostgreSQL on 127.0.0.1:$port ($WES_PG_DIR)"
}

stop_postgres() {
    [ -n "${WES_PG_DIR:-}" ] || return 0
    local as=()
    [ "$(id -u)" -eq 0 ] && as=(runuser -u postgres --)
    "${as[@]}" "$WES_PG_BIN/pg_ctl" -D "$WES_PG_DIR/data" -m immediate -s stop >/dev/null 2>&1 || true
    rm -rf "$WES_PG_DIR"
    WES_PG_DIR=
}
