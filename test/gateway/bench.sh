#!/usr/bin/env bash
# Benchmark of the RPC gateway (docs/BENCHMARKS.md, "## RPC gateway"): the same fast upstream
# on loopback is called directly, through nginx as a plain reverse proxy (upstream keepalive),
# and through `onf gateway run` with API-key auth, method policy and rate limits on (set high
# enough never to refuse). wrk drives HTTP JSON-RPC POSTs; each target is measured ROUNDS
# times, interleaved, and the median round is reported with ratios against direct and nginx.
#
#   test/gateway/bench.sh                 # needs: go, nginx, wrk (Debian packages nginx, wrk)
#   ROUNDS=3 DURATION=10s CONNS=64 test/gateway/bench.sh
set -euo pipefail

ROOT="$(cd "$(dirname "$0")/../.." && pwd)"
ROUNDS=${ROUNDS:-3}
DURATION=${DURATION:-8s}
CONNS=${CONNS:-64}
THREADS=${THREADS:-2}
P_NODE=${P_NODE:-18600} P_NGINX=${P_NGINX:-18601} P_GW=${P_GW:-18602}

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

(cd "$ROOT" && go build -o "$WORK/fastnode" ./test/gateway/fastnode && go build -o "$WORK/onf" ./cmd/onf)

"$WORK/fastnode" -listen "127.0.0.1:$P_NODE" & PIDS+=($!)

mkdir -p "$WORK/nginx"
cat > "$WORK/nginx/nginx.conf" <<CONF
worker_processes auto;
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
  server {
    listen 127.0.0.1:$P_NGINX;
    location / {
      proxy_pass http://node;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
    }
  }
}
CONF
nginx -c "$WORK/nginx/nginx.conf" -p "$WORK/nginx" & PIDS+=($!)

# A key for the benchmark only, stored hashed like any other.
"$WORK/onf" gateway key new --id bench >"$WORK/keys.entry" 2>"$WORK/key.txt"
KEY=$(sed -n 's/.*(shown once): //p' "$WORK/key.txt")
{ echo "keys:"; grep -v '^#' "$WORK/keys.entry"; } >"$WORK/keys.yaml"
cat >"$WORK/gateway.yaml" <<CONF
listen: 127.0.0.1:$P_GW
upstreams:
  - name: fast
    http: http://127.0.0.1:$P_NODE
auth:
  apiKeys: {file: $WORK/keys.yaml}
roles:
  default: {allow: ["*"], deny: ["state_*"]}
limits:
  perKey: {callsPerSecond: 10000000, burst: 10000000, maxConnections: 100000}
  perIP: {callsPerSecond: 10000000, burst: 10000000, maxConnections: 100000}
CONF
"$WORK/onf" gateway run -c "$WORK/gateway.yaml" --log-level warn & PIDS+=($!)

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

declare -A RPS P50 P99
run() { # name url script
  local out
  out=$(wrk -t"$THREADS" -c"$CONNS" -d"$DURATION" --latency -s "$3" "$2")
  local rps p50 p99
  rps=$(awk '/^Requests\/sec:/ { print $2 }' <<<"$out")
  p50=$(to_ms "$(awk '$1 == "50%" { print $2 }' <<<"$out")")
  p99=$(to_ms "$(awk '$1 == "99%" { print $2 }' <<<"$out")")
  if grep -q 'Non-2xx' <<<"$out"; then echo "bench: $1 returned errors:" >&2; echo "$out" >&2; exit 1; fi
  RPS[$1]+="$rps " P50[$1]+="$p50 " P99[$1]+="$p99 "
  printf '  round %s %-8s %10.0f req/s  p50 %7.3f ms  p99 %7.3f ms\n' "$round" "$1" "$rps" "$p50" "$p99" >&2
}
for round in $(seq "$ROUNDS"); do
  run direct "http://127.0.0.1:$P_NODE/" "$WORK/plain.lua"
  run nginx "http://127.0.0.1:$P_NGINX/" "$WORK/plain.lua"
  run gateway "http://127.0.0.1:$P_GW/" "$WORK/auth.lua"
done

median() { tr ' ' '\n' <<<"$1" | grep -v '^$' | sort -g | awk '{ a[NR] = $1 } END { print a[int((NR + 1) / 2)] }'; }
d=$(median "${RPS[direct]}") n=$(median "${RPS[nginx]}") g=$(median "${RPS[gateway]}")
echo "| target | throughput (req/s) | p50 (ms) | p99 (ms) | vs direct | vs nginx |"
echo "|---|---:|---:|---:|---:|---:|"
for t in direct nginx gateway; do
  r=$(median "${RPS[$t]}")
  awk -v t="$t" -v r="$r" -v p50="$(median "${P50[$t]}")" -v p99="$(median "${P99[$t]}")" -v d="$d" -v n="$n" \
    'BEGIN { printf "| %s | %.0f | %.3f | %.3f | %.2fx | %.2fx |\n", t, r, p50, p99, r / d, r / n }'
done
echo
echo "wrk -t$THREADS -c$CONNS -d$DURATION, median of $ROUNDS interleaved rounds, $(nproc) CPUs, $(date -u +%Y-%m-%d)"
