#!/usr/bin/env bash
# bench/zsync-vs-tessera.sh — measure zsync 0.6.2 against tessera on the same image update,
# served by the same local nginx, in the same run.
#
# Usage:
#   bench/zsync-vs-tessera.sh [options]
#
#   (default)            use the corpus built by bench/debian-corpus.sh
#                        (${TESSERA_CORPUS_DIR:-$HOME/.cache/tessera/corpus}; built if missing)
#   --old FILE --new FILE  use these images instead of the corpus
#   --seeds DIR          folder of loose seed files for --seeds-loose (default: corpus seeds-loose/)
#   --seeds-loose        seed = the folder of old .deb files instead of old.iso
#                        (zsync gets every file as its own -i option, tessera gets --seed DIR)
#   --mode iso|loose|both  same as above; "both" runs the old-image mode and then the loose mode
#   --runs N             runs per tool and mode (default 3), alternating zsync and tessera
#   --no-zsync | --no-tessera   skip one tool
#   --tessera-arg ARG    extra argument for `tessera get` (repeatable), e.g. --tessera-arg --connections=8
#   --port N             nginx port (default: a free random port)
#   --workdir DIR        where the temporary directory goes (default ${TMPDIR:-/tmp}); needs
#                        room for one copy of the new image plus the control files
#   --drop-caches        drop the page cache before every run (default: warm cache)
#   --results FILE       also write the per-run rows (TSV) to FILE
#   --keep DIR           copy the nginx config and access log, the tools' stdout/stderr and
#                        /usr/bin/time output and the control files to DIR (also on failure)
#
# What is measured per run (fresh output directory each time):
#   wall s / CPU s (user+sys) / peak RSS   /usr/bin/time -v of the client process
#   fetched (log) / requests             sum of $body_bytes_sent and number of lines in nginx's
#                                        access log during the run
#   fetched (self)                       what the tool says: zsync "used X local, fetched Y",
#                                        tessera --json bytesFetched
#   sha256                               of the output, compared with the new image's
# The control files (.zsync and .tessera) are made once, with default settings; their size and
# the make time (one run) are reported separately.
set -euo pipefail

SCRIPT_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO=$(cd "$SCRIPT_DIR/.." && pwd)
CORPUS="${TESSERA_CORPUS_DIR:-$HOME/.cache/tessera/corpus}"

OLD="" NEW="" SEEDS="" RUNS=3 MODE=iso PORT="" WORKBASE="${TMPDIR:-/tmp}" DROP=0 RESULTS="" KEEP=""
DO_ZSYNC=1 DO_TESSERA=1
TESSERA_EXTRA=()

usage() { sed -n '2,34p' "$0"; }
die() { printf 'ERROR: %s\n' "$*" >&2; exit 1; }
log() { printf '[bench %(%H:%M:%S)T] %s\n' -1 "$*" >&2; }

while [ $# -gt 0 ]; do
  case "$1" in
    --old) OLD=${2:?--old needs a file}; shift 2 ;;
    --new) NEW=${2:?--new needs a file}; shift 2 ;;
    --seeds) SEEDS=${2:?--seeds needs a directory}; shift 2 ;;
    --seeds-loose) MODE=loose; shift ;;
    --mode) MODE=${2:?}; shift 2 ;;
    --runs) RUNS=${2:?}; shift 2 ;;
    --port) PORT=${2:?}; shift 2 ;;
    --workdir) WORKBASE=${2:?}; shift 2 ;;
    --drop-caches) DROP=1; shift ;;
    --results) RESULTS=${2:?}; shift 2 ;;
    --keep) KEEP=${2:?}; shift 2 ;;
    --no-zsync) DO_ZSYNC=0; shift ;;
    --no-tessera) DO_TESSERA=0; shift ;;
    --tessera-arg) TESSERA_EXTRA+=("${2:?}"); shift 2 ;;
    -h|--help) usage; exit 0 ;;
    *) usage >&2; die "unknown argument: $1" ;;
  esac
done
case "$MODE" in iso) MODES=(iso) ;; loose) MODES=(loose) ;; both) MODES=(iso loose) ;; *) die "--mode must be iso, loose or both" ;; esac
[[ "$RUNS" =~ ^[1-9][0-9]*$ ]] || die "--runs must be a positive integer"

# --- tools ----------------------------------------------------------------------
need() { # need PATH-OR-COMMAND DEBIAN-PACKAGE
  if [ -x "$1" ] || command -v "$1" >/dev/null 2>&1; then return 0; fi
  [ "$(id -u)" = 0 ] || die "'$1' is missing; install the Debian package '$2'"
  log "installing $2"
  export DEBIAN_FRONTEND=noninteractive
  apt-get install -y -qq "$2" >/dev/null 2>&1 || { apt-get update -qq && apt-get install -y -qq "$2" >/dev/null; }
  [ -x "$1" ] || command -v "$1" >/dev/null 2>&1 || die "could not install $2"
}
need zsync zsync
need zsyncmake zsync
need /usr/bin/time time
need /usr/sbin/nginx nginx-light
need sha256sum coreutils
NGINX=/usr/sbin/nginx

# --- inputs ---------------------------------------------------------------------
if [ -z "$OLD$NEW" ]; then
  if [ ! -s "$CORPUS/old.iso" ] || [ ! -s "$CORPUS/new.iso" ] || [ ! -f "$CORPUS/.stamp" ]; then
    log "corpus missing; running bench/debian-corpus.sh"
    bash "$SCRIPT_DIR/debian-corpus.sh"
  fi
  OLD="$CORPUS/old.iso"; NEW="$CORPUS/new.iso"
  [ -n "$SEEDS" ] || SEEDS="$CORPUS/seeds-loose"
elif [ -z "$OLD" ] || [ -z "$NEW" ]; then
  die "--old and --new go together"
fi
[ -f "$OLD" ] || die "no such file: $OLD"
[ -f "$NEW" ] || die "no such file: $NEW"
OLD=$(cd "$(dirname "$OLD")" && pwd)/$(basename "$OLD")
NEW=$(cd "$(dirname "$NEW")" && pwd)/$(basename "$NEW")
SEED_FILES=()
if [[ " ${MODES[*]} " == *" loose "* ]]; then
  [ -n "$SEEDS" ] || die "--seeds-loose needs --seeds DIR when --old/--new are given"
  [ -d "$SEEDS" ] || die "no such directory: $SEEDS"
  SEEDS=$(cd "$SEEDS" && pwd)
  mapfile -t SEED_FILES < <(find "$SEEDS" -type f | LC_ALL=C sort)
  [ "${#SEED_FILES[@]}" -gt 0 ] || die "no files in $SEEDS"
fi

mkdir -p "$WORKBASE"
T=$(mktemp -d "$WORKBASE/tessera-bench.XXXXXX")
NGINX_PID=""
cleanup() {
  if [ -n "$NGINX_PID" ] && kill -0 "$NGINX_PID" 2>/dev/null; then
    kill "$NGINX_PID" 2>/dev/null || true
    for _ in $(seq 50); do kill -0 "$NGINX_PID" 2>/dev/null || break; sleep 0.1; done
    kill -9 "$NGINX_PID" 2>/dev/null || true
  fi
  if [ -n "$KEEP" ] && [ -d "$T" ]; then
    mkdir -p "$KEEP" && (cd "$T" && cp -r nginx ctl ./*.out ./*.err ./*.time ./*.tsv "$KEEP/" 2>/dev/null) || true
    rm -rf "$KEEP/nginx/tmp"
  fi
  rm -rf "$T"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

NEW_SIZE=$(stat -c %s "$NEW")
OLD_SIZE=$(stat -c %s "$OLD")
if [ -f "$NEW.sha256" ] && [ "$NEW.sha256" -nt "$NEW" ]; then
  NEW_SHA=$(cut -d' ' -f1 "$NEW.sha256")
else
  log "hashing $(basename "$NEW")"
  NEW_SHA=$(sha256sum "$NEW" | cut -d' ' -f1)
fi

# --- nginx ----------------------------------------------------------------------
LOG="$T/nginx/access.log"
port_busy() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

start_nginx() {
  local port=$1 d="$T/nginx"
  mkdir -p "$d/tmp"
  : > "$LOG"
  {
    echo "worker_processes 1;"
    [ "$(id -u)" = 0 ] && echo "user root;"
    echo "pid $d/nginx.pid;"
    echo "error_log $d/error.log warn;"
    echo "events { worker_connections 1024; }"
    echo "http {"
    echo "  default_type application/octet-stream;"
    echo "  sendfile on;"
    echo "  client_body_temp_path $d/tmp/body;"
    echo "  proxy_temp_path $d/tmp/proxy;"
    echo "  fastcgi_temp_path $d/tmp/fastcgi;"
    echo "  uwsgi_temp_path $d/tmp/uwsgi;"
    echo "  scgi_temp_path $d/tmp/scgi;"
    echo "  log_format bench '\$msec \$status \$request_method \$bytes_sent \$body_bytes_sent \"\$http_range\" \$request_time \"\$http_user_agent\"';"
    echo "  access_log $LOG bench;"
    echo "  server {"
    echo "    listen 127.0.0.1:$port;"
    echo "    location = /new.iso { alias \"$NEW\"; }"
    echo "    location / { return 404; }"
    echo "  }"
    echo "}"
  } > "$d/nginx.conf"
  "$NGINX" -p "$d" -c "$d/nginx.conf" -e "$d/error.log" -g 'daemon off;' >"$d/stdout" 2>&1 &
  NGINX_PID=$!
  for _ in $(seq 50); do
    kill -0 "$NGINX_PID" 2>/dev/null || { NGINX_PID=""; return 1; }
    port_busy "$port" && return 0
    sleep 0.1
  done
  return 1
}

if [ -n "$PORT" ]; then
  port_busy "$PORT" && die "port $PORT is in use"
  start_nginx "$PORT" || { cat "$T/nginx/error.log" "$T/nginx/stdout" >&2 2>/dev/null; die "nginx did not start"; }
else
  ok=0
  for _ in 1 2 3 4 5 6 7 8; do
    PORT=$((20000 + RANDOM % 40000))
    port_busy "$PORT" && continue
    if start_nginx "$PORT"; then ok=1; break; fi
  done
  [ "$ok" = 1 ] || { cat "$T/nginx/error.log" "$T/nginx/stdout" >&2 2>/dev/null; die "nginx did not start"; }
fi
URL="http://127.0.0.1:$PORT/new.iso"

# Range sanity check (a 206 with the right length), without curl.
range_check() {
  local resp
  resp=$(exec 3<>"/dev/tcp/127.0.0.1/$PORT"
         printf 'GET /new.iso HTTP/1.0\r\nHost: 127.0.0.1\r\nRange: bytes=0-15\r\nUser-Agent: bench-check\r\n\r\n' >&3
         head -c 600 <&3 | tr -d '\r\000')
  grep -q '^HTTP/1.1 206' <<<"$resp" && grep -qi '^content-length: 16$' <<<"$resp"
}
range_check || die "nginx at $URL does not answer a Range request with 206"
log "nginx pid $NGINX_PID serving $NEW at $URL (Range ok)"

# --- measurement helpers ----------------------------------------------------------
LOG_OFF=0
log_mark() { LOG_OFF=$(stat -c %s "$LOG"); }
log_settle() { # wait until nginx has written the last lines
  local a b=-1
  for _ in $(seq 30); do
    sleep 0.1; a=$(stat -c %s "$LOG"); [ "$a" = "$b" ] && return 0; b=$a
  done
}
log_slice() { tail -c +$((LOG_OFF + 1)) "$LOG" | grep -v 'bench-check' || true; }
log_bytes() { log_slice | awk '{s += $5} END {printf "%d", s}'; }
log_reqs()  { log_slice | awk 'END {print NR}'; }

drop_caches() {
  [ "$DROP" = 1 ] || return 0
  sync
  echo 3 > /proc/sys/vm/drop_caches 2>/dev/null || { log "WARNING: cannot drop caches (not root / read-only /proc); continuing warm"; DROP=0; }
}

# run_timed NAME CMD... : runs CMD under /usr/bin/time -v; sets RC, WALL, CPU, RSS_KB;
# stdout/stderr in $T/NAME.out / $T/NAME.err
run_timed() {
  local name=$1; shift
  local t0 t1
  t0=$EPOCHREALTIME
  if /usr/bin/time -v -o "$T/$name.time" "$@" >"$T/$name.out" 2>"$T/$name.err"; then RC=0; else RC=$?; fi
  t1=$EPOCHREALTIME
  WALL=$(awk -v a="$t0" -v b="$t1" 'BEGIN{printf "%.3f", b-a}')
  CPU=$(awk -F': ' '/User time \(seconds\)/{u=$2} /System time \(seconds\)/{s=$2} END{printf "%.2f", u+s}' "$T/$name.time")
  RSS_KB=$(awk -F': ' '/Maximum resident set size/{print $2}' "$T/$name.time")
  RSS_KB=${RSS_KB:-0}
}

last_err() { # a short reason from a stderr file
  grep -v '^\s*$' "$1" 2>/dev/null | tail -n 1 | cut -c1-200
}

RESULTS_TSV="$T/results.tsv"
printf 'mode\ttool\trun\twall_s\tcpu_s\tpeak_rss_kb\tlog_bytes\tlog_requests\tself_fetched\tself_local\tsha_ok\n' > "$RESULTS_TSV"

# --- control files ------------------------------------------------------------------
mkdir -p "$T/ctl"
ZS_CTL="$T/ctl/new.iso.zsync"
TS_CTL="$T/ctl/new.iso.tessera"
MAKE_ROWS=()
ZSYNC_REASON=""
TESSERA_REASON=""

if [ "$DO_ZSYNC" = 1 ]; then
  log "zsyncmake ($(awk -v b="$NEW_SIZE" 'BEGIN{printf "%.1f MB", b/1e6}'))"
  # zsyncmake writes into the current directory unless -o; run it in $T/ctl
  ( cd "$T/ctl" && run_timed zsyncmake zsyncmake -u "$URL" -o "$ZS_CTL" "$NEW"
    printf '%s %s %s %s\n' "$RC" "$WALL" "$CPU" "$RSS_KB" > "$T/zsyncmake.res" )
  read -r RC WALL CPU RSS_KB < "$T/zsyncmake.res"
  if [ "$RC" != 0 ] || [ ! -s "$ZS_CTL" ]; then
    ZSYNC_REASON="zsyncmake failed (exit $RC): $(last_err "$T/zsyncmake.err")"
    DO_ZSYNC=0
  else
    MAKE_ROWS+=("zsyncmake $WALL $CPU $RSS_KB $(stat -c %s "$ZS_CTL")")
  fi
fi

TESSERA=(node "$REPO/bin/tessera.mjs")
if [ "$DO_TESSERA" = 1 ]; then
  if ! command -v node >/dev/null 2>&1; then
    TESSERA_REASON="node not found"
  elif [ ! -f "$REPO/bin/tessera.mjs" ]; then
    TESSERA_REASON="$REPO/bin/tessera.mjs does not exist"
  else
    log "tessera make"
    ( cd "$REPO" && run_timed tessera-make "${TESSERA[@]}" make "$NEW" -o "$TS_CTL" --url "$URL"
      printf '%s %s %s %s\n' "$RC" "$WALL" "$CPU" "$RSS_KB" > "$T/tessera-make.res" )
    read -r RC WALL CPU RSS_KB < "$T/tessera-make.res"
    if [ "$RC" != 0 ] || [ ! -s "$TS_CTL" ]; then
      TESSERA_REASON="tessera make failed (exit $RC): $(last_err "$T/tessera-make.err")"
    else
      MAKE_ROWS+=("tessera-make $WALL $CPU $RSS_KB $(stat -c %s "$TS_CTL")")
    fi
  fi
  [ -z "$TESSERA_REASON" ] || { log "tessera: not available ($TESSERA_REASON)"; DO_TESSERA=0; }
fi

# --- one run of each tool -------------------------------------------------------------
OUTDIR="$T/out"
fresh_out() { rm -rf "$OUTDIR"; mkdir -p "$OUTDIR"; }

zsync_run() { # MODE RUN
  local mode=$1 r=$2 args=() f used fetched sha ok
  if [ "$mode" = iso ]; then args=(-i "$OLD"); else for f in "${SEED_FILES[@]}"; do args+=(-i "$f"); done; fi
  fresh_out; drop_caches; log_mark
  ( cd "$OUTDIR" && run_timed "zsync-$mode-$r" zsync "${args[@]}" -o "$OUTDIR/new.iso" "$ZS_CTL"
    printf '%s %s %s %s\n' "$RC" "$WALL" "$CPU" "$RSS_KB" > "$T/run.res" )
  read -r RC WALL CPU RSS_KB < "$T/run.res"
  log_settle
  # "used 123 local, fetched 456"
  read -r used fetched < <(cat "$T/zsync-$mode-$r.out" "$T/zsync-$mode-$r.err" | tr '\r' '\n' \
      | sed -n 's/.*used \([0-9]*\) local, fetched \([0-9]*\).*/\1 \2/p' | tail -n 1; echo)
  ok=no
  if [ "$RC" = 0 ] && [ -f "$OUTDIR/new.iso" ]; then
    sha=$(sha256sum "$OUTDIR/new.iso" | cut -d' ' -f1); [ "$sha" = "$NEW_SHA" ] && ok=yes
  else
    log "zsync run $r failed (exit $RC): $(last_err "$T/zsync-$mode-$r.err")"
  fi
  printf '%s\tzsync\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$mode" "$r" "$WALL" "$CPU" "$RSS_KB" \
    "$(log_bytes)" "$(log_reqs)" "${fetched:-NA}" "${used:-NA}" "$ok" >> "$RESULTS_TSV"
  log "  zsync   $mode run $r: ${WALL}s wall, ${CPU}s CPU, $((RSS_KB / 1024)) MB RSS, $(log_bytes) B in $(log_reqs) requests, sha256 $ok"
  rm -rf "$OUTDIR"
}

tessera_run() { # MODE RUN
  local mode=$1 r=$2 seed sha ok json
  if [ "$mode" = iso ]; then seed=$OLD; else seed=$SEEDS; fi
  fresh_out; drop_caches; log_mark
  ( cd "$REPO" && run_timed "tessera-$mode-$r" "${TESSERA[@]}" get "$TS_CTL" --seed "$seed" -o "$OUTDIR/new.iso" --json "${TESSERA_EXTRA[@]}"
    printf '%s %s %s %s\n' "$RC" "$WALL" "$CPU" "$RSS_KB" > "$T/run.res" )
  read -r RC WALL CPU RSS_KB < "$T/run.res"
  log_settle
  # last stdout line: {"ok":..,"bytesLocal":..,"bytesFetched":..,"requests":..,"sha256":..,"seconds":..}
  json=$(node -e '
    const fs = require("fs");
    const lines = fs.readFileSync(process.argv[1], "utf8").trim().split("\n");
    try { const j = JSON.parse(lines[lines.length - 1]);
          console.log([j.ok, j.bytesLocal ?? "NA", j.bytesFetched ?? "NA", j.requests ?? "NA", j.sha256 ?? "NA"].join(" "));
    } catch { console.log("parse-error NA NA NA NA"); }' "$T/tessera-$mode-$r.out" 2>/dev/null || echo "parse-error NA NA NA NA")
  local j_ok j_local j_fetched j_reqs j_sha
  read -r j_ok j_local j_fetched j_reqs j_sha <<<"$json"
  ok=no
  if [ "$RC" = 0 ] && [ -f "$OUTDIR/new.iso" ]; then
    sha=$(sha256sum "$OUTDIR/new.iso" | cut -d' ' -f1); [ "$sha" = "$NEW_SHA" ] && ok=yes
    [ "$j_sha" = "$NEW_SHA" ] || [ "$j_sha" = NA ] || log "  note: tessera reported sha256 $j_sha"
  fi
  printf '%s\ttessera\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$mode" "$r" "$WALL" "$CPU" "$RSS_KB" \
    "$(log_bytes)" "$(log_reqs)" "$j_fetched" "$j_local" "$ok" >> "$RESULTS_TSV"
  log "  tessera $mode run $r: ${WALL}s wall, ${CPU}s CPU, $((RSS_KB / 1024)) MB RSS, $(log_bytes) B in $(log_reqs) requests (self: $j_reqs), sha256 $ok"
  rm -rf "$OUTDIR"
  if [ "$RC" != 0 ]; then
    TESSERA_REASON="tessera get failed in $mode run $r (exit $RC): $(last_err "$T/tessera-$mode-$r.err")"
    return 1
  fi
  [ "$j_ok" != parse-error ] || log "  note: could not parse tessera's --json line"
}

# --- the runs ------------------------------------------------------------------------
for mode in "${MODES[@]}"; do
  if [ "$mode" = iso ]; then
    log "mode iso: seed $OLD ($(awk -v b="$OLD_SIZE" 'BEGIN{printf "%.1f MB", b/1e6}'))"
  else
    log "mode loose: seed $SEEDS (${#SEED_FILES[@]} files)"
  fi
  for r in $(seq "$RUNS"); do
    [ "$DO_ZSYNC" = 1 ] && zsync_run "$mode" "$r"
    if [ "$DO_TESSERA" = 1 ]; then
      tessera_run "$mode" "$r" || { log "tessera: not available ($TESSERA_REASON)"; DO_TESSERA=0; }
    fi
  done
done

# --- report -------------------------------------------------------------------------
median() { sort -g | awk '$1 != "NA" {a[++n] = $1} END { if (!n) print "NA"; else if (n % 2) print a[(n + 1) / 2]; else printf "%.12g\n", (a[n / 2] + a[n / 2 + 1]) / 2 }'; }
f2() { awk -v x="$1" 'BEGIN{ if (x == "NA" || x == "") print "NA"; else printf "%.2f", x }'; }
col() { # MODE TOOL COLUMN-NUMBER
  awk -F'\t' -v m="$1" -v t="$2" -v c="$3" 'NR > 1 && $1 == m && $2 == t {print $c}' "$RESULTS_TSV"
}
ctl_size() { case "$1" in zsync) stat -c %s "$ZS_CTL" 2>/dev/null || echo NA ;; tessera) stat -c %s "$TS_CTL" 2>/dev/null || echo NA ;; esac; }

echo
echo "zsync 0.6.2 vs tessera — $(date -u +%Y-%m-%dT%H:%MZ), $(nproc) cores, page cache $( [ "$DROP" = 1 ] && echo dropped before each run || echo warm)"
echo "  old:  $OLD ($OLD_SIZE bytes)"
echo "  new:  $NEW ($NEW_SIZE bytes, sha256 ${NEW_SHA:0:16}…)"
[ "${#SEED_FILES[@]}" -gt 0 ] && echo "  loose seeds: $SEEDS (${#SEED_FILES[@]} files)"
echo "  server: nginx $("$NGINX" -v 2>&1 | sed 's/.*nginx\///') on $URL; runs per tool: $RUNS (medians shown)"
echo
if [ "${#MAKE_ROWS[@]}" -gt 0 ]; then
  echo "Control file (made once, default settings):"
  printf '  %-13s %8s %8s %10s %14s\n' "" "wall s" "CPU s" "RSS MB" "size bytes"
  for row in "${MAKE_ROWS[@]}"; do
    read -r n w c k s <<<"$row"
    printf '  %-13s %8s %8s %10s %14s\n' "$n" "$(f2 "$w")" "$(f2 "$c")" "$(awk -v k="$k" 'BEGIN{printf "%.1f", k/1024}')" "$s"
  done
  echo
fi

for mode in "${MODES[@]}"; do
  if [ "$mode" = iso ]; then echo "Seed: old image ($(basename "$OLD"))"; else echo "Seed: loose files ($SEEDS, ${#SEED_FILES[@]} files)"; fi
  printf '  %-9s %8s %8s %9s %14s %9s %14s %12s %8s\n' tool "wall s" "CPU s" "RSS MB" "fetched (log)" requests "fetched (self)" "control" "sha256"
  declare -A M=()
  for tool in zsync tessera; do
    n=$(col "$mode" "$tool" 3 | wc -l)
    if [ "$n" = 0 ]; then
      if [ "$tool" = tessera ]; then
        printf '  %-9s not available (%s)\n' tessera "${TESSERA_REASON:-skipped with --no-tessera}"
      else
        printf '  %-9s not run (%s)\n' zsync "${ZSYNC_REASON:-skipped with --no-zsync}"
      fi
      continue
    fi
    M[$tool.wall]=$(col "$mode" "$tool" 4 | median)
    M[$tool.cpu]=$(col "$mode" "$tool" 5 | median)
    M[$tool.rss]=$(col "$mode" "$tool" 6 | median | awk '{ if ($1 == "NA") print "NA"; else printf "%.1f", $1/1024 }')
    M[$tool.log]=$(col "$mode" "$tool" 7 | median)
    M[$tool.req]=$(col "$mode" "$tool" 8 | median)
    M[$tool.self]=$(col "$mode" "$tool" 9 | median)
    M[$tool.ctl]=$(ctl_size "$tool")
    okn=$(col "$mode" "$tool" 11 | grep -c '^yes$' || true)
    M[$tool.ok]="$okn/$n"
    printf '  %-9s %8s %8s %9s %14s %9s %14s %12s %8s\n' "$tool" "$(f2 "${M[$tool.wall]}")" "$(f2 "${M[$tool.cpu]}")" "${M[$tool.rss]}" \
      "${M[$tool.log]}" "${M[$tool.req]}" "${M[$tool.self]}" "${M[$tool.ctl]}" "${M[$tool.ok]}"
  done
  if [ -n "${M[zsync.wall]:-}" ] && [ -n "${M[tessera.wall]:-}" ] && [ "${M[tessera.ok]%%/*}" != 0 ]; then
    ratio() { awk -v a="$1" -v b="$2" 'BEGIN{ if (a == "NA" || b == "NA" || b + 0 == 0) print "NA"; else printf "%.2f", a / b }'; }
    printf '  %-9s %8s %8s %9s %14s %9s %14s %12s\n' "t/z ratio" \
      "$(ratio "${M[tessera.wall]}" "${M[zsync.wall]}")" "$(ratio "${M[tessera.cpu]}" "${M[zsync.cpu]}")" \
      "$(ratio "${M[tessera.rss]}" "${M[zsync.rss]}")" "$(ratio "${M[tessera.log]}" "${M[zsync.log]}")" \
      "$(ratio "${M[tessera.req]}" "${M[zsync.req]}")" "$(ratio "${M[tessera.self]}" "${M[zsync.self]}")" \
      "$(ratio "${M[tessera.ctl]}" "${M[zsync.ctl]}")"
  fi
  unset M
  echo
done
echo "  fetched = bytes; (log) = sum of nginx \$body_bytes_sent, (self) = the tool's own figure"
echo "  (zsync: 'fetched Y' of 'used X local, fetched Y'; tessera: bytesFetched). control = control-file bytes."
[ -z "$TESSERA_REASON" ] || echo "  tessera: not available ($TESSERA_REASON)"
echo
echo "Per-run rows:"
column -t -s $'\t' "$RESULTS_TSV" 2>/dev/null | sed 's/^/  /' || sed 's/^/  /' "$RESULTS_TSV"
if [ -n "$RESULTS" ]; then
  cp "$RESULTS_TSV" "$RESULTS"
  echo "Per-run rows written to $RESULTS"
fi
