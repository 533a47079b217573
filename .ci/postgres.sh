# Sourced by .ci/run: start a throwaway PostgreSQL on 127.0.0.1 and export its URL.
start_postgres() {
    [ "$(id -u)" = 0 ] || return 1
    if ! ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1; then
        command -v apt-get >/dev/null || return 1
        (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql) \
            >/dev/null 2>&1 || return 1
    fi
    local bin pgdata port=54329
    bin=$(dirname "$(ls /usr/lib/postgresql/*/bin/initdb | tail -n 1)")
    pgdata=$(mktemp -d)
    chown postgres "$pgdata"
    su postgres -c "$bin/initdb -D $pgdata -A trust -U postgres" >/dev/null || return 1
    su postgres -c "$bin/pg_ctl -D $pgdata -l $pgdata/log -w \
        -o '-k /tmp -p $port -c listen_addresses=127.0.0.1' start" >/dev/null || return 1
    trap "su postgres -c '$bin/pg_ctl -D $pgdata stop -m fast' >/dev/null 2>&1 || true" EXIT
    export NASPLAT_TEST_POSTGRES="postgresql://postgres@127.0.0.1:$port/postgres"
    echo "ci: PostgreSQL at $NASPLAT_TEST_POSTGRES"
}
start_postgres
