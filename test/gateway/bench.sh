#!/usr/bin/env bash
# Benchmark of the RPC gateway (docs/BENCHMARKS.md, "## RPC gateway"): the same fast upstream
# on loopback is called directly, through nginx as a plain reverse proxy (upstream keepalive,
# WebSocket upgrade), and through `onf gateway run` with API-key auth, method policy and rate
# limits on (set high enough never to refuse). wrk drives HTTP JSON-RPC POSTs and wsload drives
# WebSocket calls (one outstanding call per connection); each target is measured ROUNDS times,
# interleaved, and the median round is reported with ratios against direct and nginx, and with
# the CPU time per call of the load generator, the node and the proxy.
#
#   test/gateway/bench.sh                 # needs: go, nginx, wrk (Debian packages nginx, wrk)
#   ROUNDS=3 DURATION=10s CONNS=64 test/gateway/bench.sh
#   PROTOS=ws test/gateway/bench.sh      # only the WebSocket rounds (or PROTOS=http)
#   BASELINE_REV=4c6525b test/gateway/bench.sh   # also the gateway built at that git revision
#   PROXY_CPUS=1 LOAD_CPUS=0 test/gateway/bench.sh  # proxies on their own CPUs (taskset)
#
# By default every process shares every CPU, so a proxy's CPU time is taken from the load
# generator and the node. With PROXY_CPUS, nginx and the gateway run on those CPUs only (nginx
# with one worker per CPU, the gateway with GOMAXPROCS set to their count), and the load
# generator and the node on LOAD_CPUS, for every target including direct: a proxy in front of
# nodes as it is deployed, on cores of its own.
set -euo pipefail

ROOT="$(cd "$(dirname "$0")/../.." && pwd)"
ROUNDS=${ROUNDS:-3}
DURATION=${DURATION:-8s}
CONNS=${CONNS:-64}
THREADS=${THREADS:-2}
PROTOS=${PROTOS:-http ws}
P_NODE=${P_NODE:-18600} P_NGINX=${P_NGINX:-18601} P_GW=${P_GW:-18602} P_BASE=${P_BASE:-18603}
BASELINE_REV=${BASELINE_REV:-}
PROXY_CPUS=${PROXY_CPUS:-} LOAD_CPUS=${LOAD_CPUS:-}
LOAD=() PROXY=() # command prefixes that pin a process to its CPUs
PROXY_NCPU=$(nproc)
if [[ -n $PROXY_CPUS ]]; then
  [[ -n $LOAD_CPUS ]] || { echo "bench: PROXY_CPUS needs LOAD_CPUS" >&2; exit 2; }
  command -v taskset >/dev/null || { echo "bench: taskset is not installed" >&2; exit 2; }
  LOAD=(taskset -c "$LOAD_CPUS") PROXY=(taskset -c "$PROXY_CPUS")
  PROXY_NCPU=$(taskset -c "$PROXY_CPUS" nproc)
fi

for tool in nginx wrk go; do
  command -v "$tool" >/dev/null || { echo "bench: $tool is not installed" >&2; exit 2; }
done

WORK=$(mktemp -d)
PIDS=()
cleanup() {
  for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
  for p in "${PIDS[@]}"; do wait "$p" 2>/dev/null || true; done
  rm -rf "$WORK"
}
trap cleanup EXIT

(cd "$ROOT" && go build -o "$WORK/fastnode" ./test/gateway/fastnode && go build -o "$WORK/wsload" ./test/gateway/wsload &&
  go build -o "$WORK/onf" ./cmd/onf)
TARGETS="direct nginx gateway"
if [[ -n $BASELINE_REV ]]; then # the same gateway settings, built from another revision
  mkdir "$WORK/base"
  git -C "$ROOT" archive "$BASELINE_REV" | tar -x -C "$WORK/base"
  (cd "$WORK/base" && go build -o "$WORK/onf-base" ./cmd/onf)
  TARGETS+=" base"
fi

"${LOAD[@]}" "$WORK/fastnode" -listen "127.0.0.1:$P_NODE" & PIDS+=($!)
NODE_PID=$!

mkdir -p "$WORK/nginx"
cat > "$WORK/nginx/nginx.conf" <<CONF
worker_processes $PROXY_NCPU;
daemon off;
pid $WORK/nginx/nginx.pid;
error_log $WORK/nginx/error.log warn;
events { worker_connections 4096; }
http {
  access_log off;
  client_body_temp_path $WORK/nginx/body;
  proxy_temp_path $WORK/nginx/proxy;
  fastcgi_temp_path $WORK/nginx/fastcgi;
  uwsgi_temp_path $WORK/nginx/uwsgi;
  scgi_temp_path $WORK/nginx/scgi;
  upstream node { server 127.0.0.1:$P_NODE; keepalive 256; }
  map \$http_upgrade \$connection_upgrade { default upgrade; '' ''; }
  server {
    listen 127.0.0.1:$P_NGINX;
    location / {
      proxy_pass http://node;
      proxy_http_version 1.1;
      proxy_set_header Upgrade \$http_upgrade;
      proxy_set_header Connection \$connection_upgrade;
      proxy_read_timeout 3600s;
    }
  }
}
CONF
"${PROXY[@]}" nginx -c "$WORK/nginx/nginx.conf" -p "$WORK/nginx" & PIDS+=($!)
NGINX_PID=$!

# A key for the benchmark only, stored hashed like any other.
"$WORK/onf" gateway key new --id bench >"$WORK/keys.entry" 2>"$WORK/key.txt"
KEY=$(sed -n 's/.*(shown once): //p' "$WORK/key.txt")
printf %s "$KEY" >"$WORK/key"; chmod 600 "$WORK/key"
{ echo "keys:"; grep -v '^#' "$WORK/keys.entry"; } >"$WORK/keys.yaml"
cat >"$WORK/gateway.yaml" <<CONF
listen: 127.0.0.1:$P_GW
upstreams:
  - name: fast
    http: http://127.0.0.1:$P_NODE
    ws: ws://127.0.0.1:$P_NODE
auth:
  apiKeys: {file: $WORK/keys.yaml}
roles:
  default: {allow: ["*"], deny: ["state_*"]}
limits:
  perKey: {callsPerSecond: 10000000, burst: 10000000, maxConnections: 100000}
  perIP: {callsPerSecond: 10000000, burst: 10000000, maxConnections: 100000}
CONF
GOGC=${GATEWAY_GOGC:-100} GOMAXPROCS=${GATEWAY_GOMAXPROCS:-$PROXY_NCPU} "${PROXY[@]}" "$WORK/onf" gateway run -c "$WORK/gateway.yaml" --log-level warn & PIDS+=($!)
GW_PID=$!
BASE_PID=
if [[ -n $BASELINE_REV ]]; then
  sed "s/^listen: .*/listen: 127.0.0.1:$P_BASE/" "$WORK/gateway.yaml" >"$WORK/gateway-base.yaml"
  GOMAXPROCS=${GATEWAY_GOMAXPROCS:-$PROXY_NCPU} "${PROXY[@]}" "$WORK/onf-base" gateway run -c "$WORK/gateway-base.yaml" --log-level warn & PIDS+=($!)
  BASE_PID=$!
fi

body='{"jsonrpc":"2.0","id":1,"method":"system_health","params":[]}'
wait_ready() { # url [auth header]
  for _ in $(seq 100); do
    if curl -sf -o /dev/null -H 'Content-Type: application/json' ${2:+-H "$2"} -d "$body" "$1"; then return 0; fi
    sleep 0.1
  done
  echo "bench: $1 did not come up" >&2; exit 1
}
wait_ready "http://127.0.0.1:$P_NODE/"
wait_ready "http://127.0.0.1:$P_NGINX/"
wait_ready "http://127.0.0.1:$P_GW/" "Authorization: Bearer $KEY"
[[ -z $BASELINE_REV ]] || wait_ready "http://127.0.0.1:$P_BASE/" "Authorization: Bearer $KEY"
# The gateway answers 401 without the key (sanity check that auth is on).
[[ $(curl -s -o /dev/null -w '%{http_code}' -d "$body" "http://127.0.0.1:$P_GW/") == 401 ]]

lua() { # file [key]
  { echo 'wrk.method = "POST"'
    echo "wrk.body = '$body'"
    echo 'wrk.headers["Content-Type"] = "application/json"'
    [[ -n ${2:-} ]] && echo "wrk.headers[\"Authorization\"] = \"Bearer $2\""
    # Count non-200 answers as errors in wrk's summary.
    echo 'response = function(status) if status ~= 200 then wrk.thread:stop() end end'
  } >"$1"
  chmod 600 "$1"
}
lua "$WORK/plain.lua"
lua "$WORK/auth.lua" "$KEY"

# to_ms VALUE: wrk prints 512.00us, 1.23ms or 1.02s.
to_ms() { awk -v v="$1" 'BEGIN { n = v + 0; if (v ~ /us$/) n /= 1000; else if (v ~ /ms$/) n += 0; else if (v ~ /s$/) n *= 1000; printf "%.3f", n }'; }

# CPU time per call of each process, from /proc: the load generator (its shell's reaped
# children), the node, and the proxy (nginx's workers; the gateway).
HZ=$(getconf CLK_TCK)
SECS=$(awk -v d="$DURATION" 'BEGIN { n = d + 0; if (d ~ /ms$/) n /= 1000; else if (d ~ /m$/) n *= 60; print n }')
ticks() { # pid...: user+system clock ticks
  local t=0 p
  for p in "$@"; do t=$((t + $(awk '{ print $14 + $15 }' "/proc/$p/stat"))); done
  echo "$t"
}
proxy_pids() { # target
  case $1 in
    nginx) pgrep -P "$NGINX_PID" | tr '\n' ' ' ;;
    gateway) echo "$GW_PID" ;;
    base) echo "$BASE_PID" ;;
  esac
}
declare -A RPS P50 P99 CCPU NCPU PCPU
record() { # name rps p50 p99 client-ticks node-ticks proxy-ticks
  local per="1000000 / $HZ / ($2 * $SECS)"
  RPS[$1]+="$2 " P50[$1]+="$3 " P99[$1]+="$4 "
  CCPU[$1]+="$(awk "BEGIN { print $5 * $per }") " NCPU[$1]+="$(awk "BEGIN { print $6 * $per }") "
  PCPU[$1]+="$(awk "BEGIN { print $7 * $per }") "
  printf '  round %s %-11s %10.0f calls/s  p50 %7.3f ms  p99 %7.3f ms\n' "$round" "$1" "$2" "$3" "$4" >&2
}
measure() { # target command...: runs the load generator; sets OUT and the tick deltas
  local target=$1 pids n0 p0
  shift
  pids=$(proxy_pids "$target")
  n0=$(ticks "$NODE_PID") p0=$(ticks $pids)
  # The subshell's reaped children's ticks (awk must read them as its direct child).
  OUT=$("$@"; printf 'CHILD_TICKS '; awk '{ print $16 + $17 }' "/proc/$BASHPID/stat")
  NODE_T=$(($(ticks "$NODE_PID") - n0)) PROXY_T=$(($(ticks $pids) - p0))
  CLIENT_T=$(awk '$1 == "CHILD_TICKS" { print $2 }' <<<"$OUT")
}
# to_ms VALUE: wrk prints 512.00us, 1.23ms or 1.02s.
to_ms() { awk -v v="$1" 'BEGIN { n = v + 0; if (v ~ /us$/) n /= 1000; else if (v ~ /ms$/) n += 0; else if (v ~ /s$/) n *= 1000; printf "%.3f", n }'; }
http_run() { # name target url script
  measure "$2" "${LOAD[@]}" wrk -t"$THREADS" -c"$CONNS" -d"$DURATION" --latency -s "$4" "$3"
  if grep -q 'Non-2xx' <<<"$OUT"; then echo "bench: $1 returned errors:" >&2; echo "$OUT" >&2; exit 1; fi
  record "$1" "$(awk '/^Requests\/sec:/ { print $2 }' <<<"$OUT")" \
    "$(to_ms "$(awk '$1 == "50%" { print $2 }' <<<"$OUT")")" "$(to_ms "$(awk '$1 == "99%" { print $2 }' <<<"$OUT")")" \
    "$CLIENT_T" "$NODE_T" "$PROXY_T"
}
ws_run() { # name target url [key file]
  local rps p50 p99 errs
  measure "$2" "${LOAD[@]}" "$WORK/wsload" -url "$3" -conns "$CONNS" -duration "$DURATION" ${4:+-key-file "$4"}
  read -r rps p50 p99 errs <<<"$(head -1 <<<"$OUT")"
  if [[ $errs != 0 ]]; then echo "bench: $1: $errs errors" >&2; exit 1; fi
  record "$1" "$rps" "$p50" "$p99" "$CLIENT_T" "$NODE_T" "$PROXY_T"
}
for round in $(seq "$ROUNDS"); do
  if [[ " $PROTOS " == *" http "* ]]; then
    http_run http-direct direct "http://127.0.0.1:$P_NODE/" "$WORK/plain.lua"
    http_run http-nginx nginx "http://127.0.0.1:$P_NGINX/" "$WORK/plain.lua"
    http_run http-gateway gateway "http://127.0.0.1:$P_GW/" "$WORK/auth.lua"
    [[ -z $BASELINE_REV ]] || http_run http-base base "http://127.0.0.1:$P_BASE/" "$WORK/auth.lua"
  fi
  if [[ " $PROTOS " == *" ws "* ]]; then
    ws_run ws-direct direct "ws://127.0.0.1:$P_NODE/"
    ws_run ws-nginx nginx "ws://127.0.0.1:$P_NGINX/"
    ws_run ws-gateway gateway "ws://127.0.0.1:$P_GW/" "$WORK/key"
    [[ -z $BASELINE_REV ]] || ws_run ws-base base "ws://127.0.0.1:$P_BASE/" "$WORK/key"
  fi
done

median() { tr ' ' '\n' <<<"$1" | grep -v '^$' | sort -g | awk '{ a[NR] = $1 } END { print a[int((NR + 1) / 2)] }'; }
echo "| target | calls/s | p50 (ms) | p99 (ms) | vs direct | vs nginx | CPU per call (us): client / node / proxy |"
echo "|---|---:|---:|---:|---:|---:|---:|"
for proto in $PROTOS; do
  d=$(median "${RPS[$proto-direct]}") n=$(median "${RPS[$proto-nginx]}")
  for t in $TARGETS; do
    label=$t
    [[ $t != base ]] || label="gateway@$BASELINE_REV"
    awk -v t="$proto $label" -v r="$(median "${RPS[$proto-$t]}")" -v p50="$(median "${P50[$proto-$t]}")" \
      -v p99="$(median "${P99[$proto-$t]}")" -v d="$d" -v n="$n" -v c="$(median "${CCPU[$proto-$t]}")" \
      -v nc="$(median "${NCPU[$proto-$t]}")" -v pc="$(median "${PCPU[$proto-$t]}")" \
      'BEGIN { printf "| %s | %.0f | %.3f | %.3f | %.2fx | %.2fx | %.1f / %.1f / %.1f |\n", t, r, p50, p99, r / d, r / n, c, nc, pc }'
  done
done
echo
echo "HTTP: wrk -t$THREADS -c$CONNS -d$DURATION; WebSocket: wsload -conns $CONNS -duration $DURATION;" \
  "median of $ROUNDS interleaved rounds; $(nproc) CPUs${PROXY_CPUS:+ (proxies on CPU $PROXY_CPUS, load and node on CPU $LOAD_CPUS)}; $(date -u +%Y-%m-%d)"
