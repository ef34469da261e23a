#!/usr/bin/env bash
# Gatehouse SCIM load benchmark (docs/benchmarks.md). Builds the binary and
# the tools, seeds the data set once (cached in $OUT/seed), then for each
# scenario starts `gatehouse serve` on a fresh copy of the seeded database,
# creates a SCIM token with `gatehouse scim token create --json`, drives it
# with wrk (test/bench/scim.lua) or patchbench, and stops it.
#
#   test/bench/run.sh [OUT]            # default OUT=/tmp/gatehouse-bench
#
# Environment: DURATION (10s per wrk run), THREADS (wrk threads, 2),
# READ_CONNS (64), POST_CONNS (16), PORT (18080), PATCH_N (60 requests per
# PATCH variant), FRESH=1 (reseed), PROFILE=1 (run test/bench/profserve, the
# same server with a CPU profile per scenario in $OUT/*.pprof),
# QUIET_MAX (25: before each run, wait until the machine's CPU is at most
# this % busy for 2 s, at most QUIET_WAIT seconds, default 90; the
# busy-before figure is recorded either way), SCENARIOS (default "reads writes patch"; "ceiling" adds a bare net/http
# server answering a stored response, for the HTTP stack's ceiling).
# Only 127.0.0.1 is ever loaded. Every wrk run is bounded by DURATION and
# every server is stopped on exit.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
OUT=${1:-${OUT:-/tmp/gatehouse-bench}}
DURATION=${DURATION:-10s}
THREADS=${THREADS:-2}
READ_CONNS=${READ_CONNS:-64}
POST_CONNS=${POST_CONNS:-16}
PORT=${PORT:-18080}
PATCH_N=${PATCH_N:-60}
PROFILE=${PROFILE:-0}
SCENARIOS=${SCENARIOS:-reads writes patch}
READ_MODES=${READ_MODES:-get filter}
BASE=http://127.0.0.1:$PORT
BIN=$OUT/bin
SEED=$OUT/seed
WORK=$OUT/work
RESULTS=$OUT/results.tsv
TICK=$(getconf CLK_TCK)
SERVER_PID=

mkdir -p "$BIN" "$SEED" "$WORK"
log() { printf '%s %s\n' "$(date +%T)" "$*" >&2; }

stop_server() {
	if [[ -n $SERVER_PID ]] && kill -0 "$SERVER_PID" 2>/dev/null; then
		kill -TERM "$SERVER_PID"
		wait "$SERVER_PID" 2>/dev/null || true
	fi
	SERVER_PID=
}
trap stop_server EXIT INT TERM

log "building into $BIN"
(cd "$ROOT" && go build -o "$BIN/gatehouse" ./cmd/gatehouse &&
	go build -o "$BIN/seed" ./test/bench/seed &&
	go build -o "$BIN/patchbench" ./test/bench/patchbench &&
	go build -o "$BIN/profserve" ./test/bench/profserve)

# A cached seed is reused only if the migrations and the seeding code are
# the ones it was built with (goose refuses a database from another schema).
STAMP=$(cd "$ROOT" && cat internal/store/sqlstore/migrations/sqlite/*.sql test/bench/benchdata/*.go test/bench/seed/*.go | sha256sum | cut -c1-16)
if [[ ${FRESH:-0} == 1 || $(cat "$SEED/stamp" 2>/dev/null) != "$STAMP" ]]; then rm -f "$SEED"/*; fi
if [[ ! -f $SEED/main.db || ! -f $SEED/large.db ]]; then
	rm -f "$SEED"/*
	log "seeding (10k users, 1k groups; 100k-member group)"
	/usr/bin/time -f "seed: %e s wall, %U s user, %S s sys" "$BIN/seed" -db "$SEED/main.db" -large-db "$SEED/large.db"
	echo "$STAMP" >"$SEED/stamp"
fi

# gh runs the CLI on a database.
gh() { local db=$1; shift; "$BIN/gatehouse" --db "$db" --log-level warn "$@"; }

# start_server NAME DB READ_EVENTS: a fresh server on DB with audit.read_events.
start_server() {
	local name=$1 db=$2 reads=$3
	local cfg=$WORK/$name.yaml
	printf 'audit:\n  read_events: %s\n' "$reads" >"$cfg"
	if [[ $PROFILE == 1 ]]; then
		"$BIN/profserve" -config "$cfg" -db "$db" -listen "127.0.0.1:$PORT" -cpuprofile "$OUT/$name.pprof" 2>"$OUT/$name.server.log" &
	else
		"$BIN/gatehouse" serve --config "$cfg" --db "$db" --listen "127.0.0.1:$PORT" --log-format json 2>"$OUT/$name.server.log" &
	fi
	SERVER_PID=$!
	for _ in $(seq 100); do
		if curl -fsS "$BASE/readyz" >/dev/null 2>&1; then return 0; fi
		sleep 0.1
	done
	log "server $name did not become ready; log:"
	cat "$OUT/$name.server.log" >&2
	exit 1
}

# fresh_db NAME SRC: a private copy of a seeded database.
fresh_db() {
	rm -f "$WORK/$1".db* "$WORK/$1"-audit-reads.db*
	cp "$2" "$WORK/$1.db"
	echo "$WORK/$1.db"
}

QUIET_MAX=${QUIET_MAX:-25}
QUIET_WAIT=${QUIET_WAIT:-90}

# busy_pct SECONDS: the machine's CPU busy % over an interval.
busy_pct() {
	local b0 t0 b1 t1
	read -r b0 t0 < <(sys_busy); sleep "$1"; read -r b1 t1 < <(sys_busy)
	awk -v b=$((b1 - b0)) -v t=$((t1 - t0)) 'BEGIN{printf "%.0f", 100*b/t}'
}

# wait_quiet: other work on a shared machine skews every number; wait for a
# quiet moment (the server under test is idle while this runs).
wait_quiet() {
	local deadline=$((SECONDS + QUIET_WAIT)) busy
	while :; do
		busy=$(busy_pct 2)
		if ((busy <= QUIET_MAX || SECONDS >= deadline)); then echo "$busy"; return; fi
	done
}

cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }           # utime+stime of a process
sys_busy() { awk '/^cpu /{print $2+$3+$4+$7+$8, $2+$3+$4+$5+$6+$7+$8}' /proc/stat; } # busy total

printf 'scenario\treq_s\tp50\tp99\tnon2xx\tserver_cpu_us_per_req\tmachine_busy_pct\tbusy_before_pct\tload1\n' >"$RESULTS.tmp"
[[ -f $RESULTS ]] || mv "$RESULTS.tmp" "$RESULTS"
rm -f "$RESULTS.tmp"

# measure NAME WRK-ARGS...: one bounded wrk run with the server's CPU cost.
measure() {
	local name=$1; shift
	local c0 b0 t0 c1 b1 t1 load before
	before=$(wait_quiet)
	load=$(cut -d' ' -f1 /proc/loadavg)
	c0=$(cpu_ticks "$SERVER_PID"); read -r b0 t0 < <(sys_busy)
	log "wrk $name: $*"
	wrk "$@" >"$OUT/$name.wrk.txt"
	c1=$(cpu_ticks "$SERVER_PID"); read -r b1 t1 < <(sys_busy)
	cat "$OUT/$name.wrk.txt"
	local reqs rps p50 p99 non2xx
	reqs=$(awk '/requests in/{print $1}' "$OUT/$name.wrk.txt")
	rps=$(awk '/^Requests\/sec/{print $2}' "$OUT/$name.wrk.txt")
	p50=$(awk '$1=="50%"{print $2}' "$OUT/$name.wrk.txt")
	p99=$(awk '$1=="99%"{print $2}' "$OUT/$name.wrk.txt")
	non2xx=$(awk '/Non-2xx/{print $5}' "$OUT/$name.wrk.txt"); non2xx=${non2xx:-0}
	local cpu busy
	cpu=$(awk -v d=$((c1 - c0)) -v n="$reqs" -v hz="$TICK" 'BEGIN{printf "%.0f", d/hz*1e6/n}')
	busy=$(awk -v b=$((b1 - b0)) -v t=$((t1 - t0)) 'BEGIN{printf "%.0f", 100*b/t}')
	printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$name" "$rps" "$p50" "$p99" "$non2xx" "$cpu" "$busy" "$before" "$load" | tee -a "$RESULTS" >&2
}

wrk_args() { echo -t"$THREADS" -c"$1" -d"$DURATION" --latency -s "$ROOT/test/bench/scim.lua" "$BASE"; }

export GH_USERS=$SEED/users.tsv

for scenario in $SCENARIOS; do
	case $scenario in
	reads)
		for reads in true false; do
			name=reads-audit-$reads
			db=$(fresh_db "$name" "$SEED/main.db")
			GH_TOKEN=$(gh "$db" --json scim token create --description "bench $name" | jq -r .token)
			export GH_TOKEN
			start_server "$name" "$db" "$reads"
			# A short warm-up fills the page caches of the reader pool.
			GH_MODE=get wrk -t1 -c4 -d2s -s "$ROOT/test/bench/scim.lua" "$BASE" >/dev/null
			for mode in $READ_MODES; do
				case $mode in
				get) GH_MODE=get measure "get-by-id-audit-$reads" $(wrk_args "$READ_CONNS") ;;
				filter) GH_MODE=filter measure "filter-username-audit-$reads" $(wrk_args "$READ_CONNS") ;;
				esac
			done
			stop_server
		done
		;;
	writes)
		db=$(fresh_db writes "$SEED/main.db")
		GH_TOKEN=$(gh "$db" --json scim token create --description "bench writes" | jq -r .token)
		export GH_TOKEN
		start_server writes "$db" true
		GH_MODE=post GH_TAG=$(date +%s) measure "post-users-c$POST_CONNS" $(wrk_args "$POST_CONNS")
		stop_server
		;;
	patch)
		db=$(fresh_db patch "$SEED/large.db")
		GH_TOKEN=$(gh "$db" --json scim token create --description "bench patch" | jq -r .token)
		export GH_TOKEN
		start_server patch "$db" true
		pb() {
			echo "busy before: $(wait_quiet)%, load $(cut -d' ' -f1 /proc/loadavg)" | tee -a "$OUT/patch.txt"
			"$BIN/patchbench" -url "$BASE" -manifest "$SEED/large.json" -per 100 -c 1 "$@" | tee -a "$OUT/patch.txt"
		}
		: >"$OUT/patch.txt"
		log "PATCH: add 100 members to the 100k group"
		# Default directory settings: 200 with the group, all members rendered.
		pb -label "200+resource" -n 10 -offset 0
		# The client asks for the group without members.
		pb -label "200,excludedAttributes=members" -n "$PATCH_N" -offset 1000 -query excludedAttributes=members
		# Entra's group guidance: 204 No Content (directory setting).
		gh "$db" directory update default --patch-returns-204 >/dev/null
		pb -label "204 (patch-returns-204)" -n "$PATCH_N" -offset $((1000 + PATCH_N * 100))
		stop_server
		;;
	ceiling)
		# The same GET load against a bare net/http server that answers every
		# request with a stored GET /Users/{id} response: the ceiling of the
		# HTTP stack plus wrk on this machine, with no Gatehouse code at all.
		db=$(fresh_db ceiling "$SEED/main.db")
		GH_TOKEN=$(gh "$db" --json scim token create --description "bench ceiling" | jq -r .token)
		export GH_TOKEN
		start_server ceiling-capture "$db" true
		curl -fsS -H "Authorization: Bearer $GH_TOKEN" "$BASE/scim/v2/Users/$(head -1 "$GH_USERS" | cut -f1)" >"$WORK/user.json"
		stop_server
		"$BIN/profserve" -ceiling "$WORK/user.json" -listen "127.0.0.1:$PORT" 2>"$OUT/ceiling.server.log" &
		SERVER_PID=$!
		for _ in $(seq 50); do curl -fsS "$BASE/" >/dev/null 2>&1 && break; sleep 0.1; done
		GH_MODE=get measure "ceiling-static-$(wc -c <"$WORK/user.json")B" $(wrk_args "$READ_CONNS")
		stop_server
		;;
	*)
		log "unknown scenario $scenario"
		exit 2
		;;
	esac
done

log "results in $RESULTS"
column -t -s $'\t' "$RESULTS" >&2
