#!/usr/bin/env bash
# The side-by-side benchmark: Wharf on SQLite, Wharf on PostgreSQL and nginx serving the very
# same bytes, measured with wrk in interleaved runs. See docs/performance.md.
#
#   bench/sidebyside.sh [-n RECORDS] [-d SECONDS] [-r ROUNDS] [--only ROW] [--no-postgres]
#
# Needs go, nginx and wrk (apt-get install -y nginx wrk), and for PostgreSQL a server that
# lets the user of $WHARF_BENCH_POSTGRES (default postgres@127.0.0.1:5432) create databases.
set -euo pipefail
cd "$(dirname "$0")/.."

n=10000
secs=5
rounds=3
only=
postgres=1
uploads=10
pgadmin=${WHARF_BENCH_POSTGRES:-postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable}

usage() { sed -n '2,8s/^# \{0,1\}//p' "$0"; exit 2; }
die() { echo "sidebyside: $*" >&2; exit 1; }
while [ $# -gt 0 ]; do
  case "$1" in
    -n) n=$2; shift 2 ;;
    -d) secs=$2; shift 2 ;;
    -r) rounds=$2; shift 2 ;;
    --only) only=$2; shift 2 ;;
    --uploads) uploads=$2; shift 2 ;;
    --no-postgres) postgres=; shift ;;
    -h|--help) usage ;;
    *) echo "sidebyside: unknown argument $1" >&2; usage ;;
  esac
done
[[ "$n" =~ ^[0-9]+$ && "$n" -gt 0 ]] || die "-n wants a positive number of records, not $n"

for cmd in go nginx wrk; do
  command -v "$cmd" >/dev/null 2>&1 || die "$cmd is not installed (apt-get install -y nginx wrk; Go from go.dev)"
done
if [ -n "$postgres" ]; then
  command -v psql >/dev/null 2>&1 || die "psql is not installed (apt-get install -y postgresql-client), or run with --no-postgres"
  psql "$pgadmin" -qtAc 'SELECT 1' >/dev/null 2>&1 || die "cannot reach PostgreSQL at $pgadmin (set WHARF_BENCH_POSTGRES, or run with --no-postgres)"
fi

work=$(mktemp -d "${TMPDIR:-/tmp}/wharf-sidebyside.XXXXXX")
# Generating writes a file at a time, each committed durably; in memory (tmpfs) that takes
# seconds instead of minutes. The result is moved to $work before any server starts.
if [ -d /dev/shm ] && [ -w /dev/shm ]; then
  gen=$(mktemp -d /dev/shm/wharf-sidebyside-gen.XXXXXX)
else
  gen=$work/gen
  mkdir -p "$gen"
fi
pids=()
db=
cleanup() {
  local rc=$?
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null || true; done
  if [ -n "$db" ]; then
    psql "$pgadmin" -qc "DROP DATABASE IF EXISTS $db WITH (FORCE)" >/dev/null 2>&1 \
      || echo "sidebyside: could not drop the database $db" >&2
  fi
  rm -rf "$work" "$gen"
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

echo "sidebyside: building into $work" >&2
go build -o "$work/wharf" ./cmd/wharf || die "go build ./cmd/wharf failed"
go build -o "$work/sidebyside" ./bench/cmd/sidebyside || die "go build ./bench/cmd/sidebyside failed"
sbs=$work/sidebyside

user=bench
password=$(head -c 18 /dev/urandom | base64 | tr -dc 'A-Za-z0-9')
mkdir -p "$gen/sqlite"
dbs=(-db "$gen/sqlite/wharf.db")
echo "$password" | "$work/wharf" admin create-user "$user" --email bench@example.com --admin --password-stdin --database "$gen/sqlite/wharf.db" >/dev/null \
  || die "could not create the account in SQLite"
if [ -n "$postgres" ]; then
  db=wharf_sidebyside_$$
  psql "$pgadmin" -qc "CREATE DATABASE $db" >/dev/null || { db=; die "could not create the database"; }
  # The same server and user, the new database.
  base=${pgadmin%%\?*} query=
  [[ "$pgadmin" == *\?* ]] && query=${pgadmin#*\?}
  [[ "${base#*://}" == */* ]] && base=${base%/*}
  pgdsn=$base/$db${query:+?$query}
  echo "$password" | "$work/wharf" admin create-user "$user" --email bench@example.com --admin --password-stdin --database "$pgdsn" >/dev/null \
    || die "could not create the account in PostgreSQL"
  # Loading only: no wait for each commit's WAL flush (the server later runs with the default).
  sep='?'; [[ "$pgdsn" == *\?* ]] && sep='&'
  dbs+=(-db "$pgdsn${sep}synchronous_commit=off")
fi

echo "sidebyside: generating $n records per subdir (linux-64, noarch), a PyPI project of 2,000 files and a 1 MB package" >&2
"$sbs" gen "${dbs[@]}" -storage "$gen/blobs" -n "$n" -out "$work/info.json" || die "generating failed"
mv "$gen/sqlite" "$gen/blobs" "$work/" || die "could not move the generated data into $work"

{ read -r p_nginx; read -r p_sqlite; read -r p_pg; } < <("$sbs" ports 3)
start_wharf() { # name port database data-dir
  "$work/wharf" serve --listen "127.0.0.1:$2" --database "$3" --data "$4" --storage "$work/blobs" \
    --public-url "http://127.0.0.1:$2" >"$work/$1.log" 2>&1 &
  pids+=($!)
  eval "pid_$1=$!"
  "$sbs" wait "http://127.0.0.1:$2/api/v1/version" || die "Wharf ($1) did not start; its log: $(tail -n 20 "$work/$1.log")"
}
start_wharf sqlite "$p_sqlite" "$work/sqlite/wharf.db" "$work/sqlite"
tok_sqlite=$("$sbs" token -wharf "http://127.0.0.1:$p_sqlite" -user "$user" -password "$password") || die "could not make a token (SQLite)"
servers=()
if [ -n "$postgres" ]; then
  start_wharf pg "$p_pg" "$pgdsn" "$work/pg"
  tok_pg=$("$sbs" token -wharf "http://127.0.0.1:$p_pg" -user "$user" -password "$password") || die "could not make a token (PostgreSQL)"
fi

# nginx, as a child of this script, serving what Wharf serves, from files.
mkdir -p "$work/nginx/root" "$work/nginx/tmp"
"$sbs" mirror -wharf "http://127.0.0.1:$p_sqlite" -root "$work/nginx/root" -info "$work/info.json" || die "could not copy Wharf's answers for nginx"
# Workers run as nobody when started by root: they must reach the files.
chmod 711 "$work" "$work/nginx"
chmod -R a+rX "$work/nginx/root"
cat >"$work/nginx/nginx.conf" <<EOF
daemon off;
worker_processes auto;
pid $work/nginx/nginx.pid;
error_log $work/nginx/error.log;
events { worker_connections 1024; }
http {
  access_log off;
  sendfile on;
  tcp_nopush on;
  keepalive_requests 100000;
  default_type application/octet-stream;
  types { text/html html; }
  client_body_temp_path $work/nginx/tmp/body;
  proxy_temp_path $work/nginx/tmp/proxy;
  fastcgi_temp_path $work/nginx/tmp/fastcgi;
  uwsgi_temp_path $work/nginx/tmp/uwsgi;
  scgi_temp_path $work/nginx/tmp/scgi;
  server {
    listen 127.0.0.1:$p_nginx;
    root $work/nginx/root;
  }
}
EOF
nginx -e "$work/nginx/error.log" -p "$work/nginx" -c "$work/nginx/nginx.conf" &
pids+=($!)
pid_nginx=$!
"$sbs" wait "http://127.0.0.1:$p_nginx/conda/pub/linux-64/repodata.json.zst" || die "nginx did not start: $(cat "$work/nginx/error.log")"

servers=(-server "nginx=http://127.0.0.1:$p_nginx,pid=$pid_nginx,nginx"
  -server "Wharf SQLite=http://127.0.0.1:$p_sqlite,pid=$pid_sqlite,token=$tok_sqlite")
if [ -n "$postgres" ]; then
  servers+=(-server "Wharf PostgreSQL=http://127.0.0.1:$p_pg,pid=$pid_pg,token=$tok_pg")
fi
echo "sidebyside: measuring (wrk -t2 -c32 -d${secs}s, $rounds rounds per path and server)" >&2
echo "Wharf $(git describe --always --dirty 2>/dev/null || echo '(no git)'), $(nginx -v 2>&1 | sed 's/.*: //'), $(wrk -v 2>&1 | head -n 1 | cut -d' ' -f1-2), $(nproc) cores"
"$sbs" run -info "$work/info.json" -root "$work/nginx/root" -secs "$secs" -rounds "$rounds" \
  -user "$user" -password "$password" -only "$only" "${servers[@]}" || die "measuring failed"

echo
"$sbs" visible -wharf "http://127.0.0.1:$p_sqlite" -name "Wharf SQLite" -token "$tok_sqlite" -uploads "$uploads" \
  || die "upload → visible failed (SQLite)"
if [ -n "$postgres" ]; then
  "$sbs" visible -wharf "http://127.0.0.1:$p_pg" -name "Wharf PostgreSQL" -token "$tok_pg" -uploads "$uploads" \
    || die "upload → visible failed (PostgreSQL)"
fi
echo "($n records per subdir; $(nproc) cores; load average $(cut -d' ' -f1-3 /proc/loadavg) at the end)"
