#!/usr/bin/env bash
# The classic story end to end on one machine: a Gatehouse "idp" plays
# Microsoft Entra ID and provisions over SCIM into a Gatehouse "idc" that
# plays AWS IAM Identity Center. Bob has no name and fails (first with the
# target's own answer, then caught by pre-send validation), gets a name and
# is provisioned, receives ViewOnlyAccess through his group; Alice joins and
# leaves that group and the scheduler does the rest.
#
#   ./run.sh                      # builds gatehouse into a temp dir
#   GATEHOUSE=/path/to/gatehouse ./run.sh
#
# Needs bash, curl and (to build) Go. Everything lives in a temp dir that is
# removed on exit, servers included.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
work=$(mktemp -d)
cleanup() { # stop the servers this script started (their pids are in $work/*.pid)
	local f p
	for f in "$work"/*.pid; do
		[[ -e $f ]] || continue
		p=$(<"$f")
		kill "$p" 2>/dev/null || continue
		for _ in $(seq 50); do kill -0 "$p" 2>/dev/null || break; sleep 0.1; done
	done
	rm -rf "$work"
}
trap cleanup EXIT

if [[ -n "${GATEHOUSE:-}" ]]; then
	gh=$GATEHOUSE
else
	echo "building gatehouse ..."
	(cd "$here/../.." && go build -o "$work/gatehouse" ./cmd/gatehouse)
	gh=$work/gatehouse
fi

free_port() { # a free loopback port
	python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])' 2>/dev/null ||
		echo $((20000 + RANDOM % 20000))
}

serve() { # NAME: start gatehouse serve on a temp database and a free port
	local name=$1 port
	port=$(free_port)
	"$gh" serve --listen "127.0.0.1:$port" --db "$work/$name.db" --log-format json >"$work/$name.log" 2>&1 &
	echo $! >"$work/$name.pid" # serve runs in $(...): a file, not a variable, reaches cleanup
	for _ in $(seq 100); do
		curl -sf "http://127.0.0.1:$port/readyz" >/dev/null && break
		sleep 0.1
	done
	curl -sf "http://127.0.0.1:$port/readyz" >/dev/null || { echo "$name did not start:"; cat "$work/$name.log"; exit 1; }
	echo "http://127.0.0.1:$port"
}

IDC_URL=$(serve idc)
IDP_URL=$(serve idp)
export IDC_URL IDP_URL

# The CLI works on a server's database directly; GATEHOUSE_PUBLIC_URL tells it
# the URL to print (the SCIM endpoint).
idc() { GATEHOUSE_PUBLIC_URL=$IDC_URL "$gh" --db "$work/idc.db" "$@"; }
idp() { GATEHOUSE_PUBLIC_URL=$IDP_URL "$gh" --db "$work/idp.db" "$@"; }

step() { printf '\n\033[1m== %s\033[0m\n' "$*"; }
run() { # print a command (idc/idp prefixed) and run it
	printf '\n$'
	printf ' %q' "$@"
	printf '\n'
	"$@"
}

step "0. Two servers: idc (AWS IAM Identity Center) at $IDC_URL, idp (Entra ID) at $IDP_URL"

step "1. idc: a directory with the aws-identity-center profile; Enable automatic provisioning"
run idc directory create idc --profile aws-identity-center
printf '\n$ %s\n' "idc scim token create --directory idc --description \"Entra ID\""
out=$(idc scim token create --directory idc --description "Entra ID")
echo "$out"
sed -n 's/^Access token: *//p' <<<"$out" >"$work/idc.token"
chmod 600 "$work/idc.token"

step "2. idp: groups, Bob without a given or family name, the aws-sso application"
run idp user create --user-name bob@corp.example --display-name Bob --email bob@corp.example
run idp group create aws-sso-read-only --member bob@corp.example
run idp group create aws-sso-admins
run idp app create aws-sso --directory default --scim-url "$IDC_URL/scim/v2" --token-file "$work/idc.token" \
	--target-profile aws-identity-center --interval 1h
# Step 3 wants the target's own answer: pre-send validation off before anything is in scope.
run idp app update aws-sso --no-presend-validation
run idp app test aws-sso
# externalId <- id is Direct, matching precedence 1 by default; make it "apply on create" like Entra's.
printf '\n$ %s\n' "idp app mappings export aws-sso > mappings.yaml   # then add 'apply: on-create' to externalId"
idp app mappings export aws-sso |
	awk '{print} /^    - target: externalId$/ && !u {u=1; f=1} f && /^      match: 1$/ {print "      apply: on-create"; f=0}' >"$work/mappings.yaml"
sed -n '/^users:/,/^    - target: userName/p' "$work/mappings.yaml"
run idp app mappings import aws-sso --file "$work/mappings.yaml"
run idp app assign aws-sso --user bob@corp.example
run idp app assign aws-sso --group aws-sso-read-only
run idp app assign aws-sso --group aws-sso-admins

step "3. Provisioning with pre-send validation off: Bob fails at the target"
run idp app provision aws-sso
run idp app logs aws-sso --status failure
run idc audit lookup --event-name CreateUser --error-code ValidationException
run idc group list --directory idc

step "4. Pre-send validation on (the default): the same failure is caught before sending"
run idp app update aws-sso --presend-validation
run idp app provision aws-sso --user bob@corp.example
run idc audit lookup --event-name CreateUser --error-code ValidationException

step "5. Give Bob a name in idp and provision"
run idp user update bob@corp.example --given-name Bob --family-name Builder
run idp app provision aws-sso
run idc user list --directory idc
run idc group show aws-sso-read-only --directory idc

step "6. idc: account, permission set, assignment to the group; Bob's access"
run idc account create 111122223333 --name Production --directory idc
run idc permission-set create ViewOnlyAccess --managed-policy arn:aws:iam::aws:policy/job-function/ViewOnlyAccess --directory idc
run idc assignment create --account 111122223333 --permission-set ViewOnlyAccess --group aws-sso-read-only --directory idc
run idc access show --user bob@corp.example --directory idc

step "7. Alice joins aws-sso-read-only in idp; the scheduler provisions her (no command)"
run idp app update aws-sso --interval 2s
run idp user create --user-name alice@corp.example --given-name Alice --family-name Archer --display-name "Alice Archer" --email alice@corp.example
run idp group add-member aws-sso-read-only alice@corp.example
wait_until() { # DESCRIPTION COMMAND...: poll for up to 20 s
	local what=$1
	shift
	printf '\n... waiting for %s' "$what"
	for _ in $(seq 80); do
		if "$@" >/dev/null 2>&1; then
			echo " done"
			return
		fi
		printf .
		sleep 0.25
	done
	echo " timed out"
	exit 1
}
has_access() { idc access show --user alice@corp.example --directory idc | grep -q ViewOnlyAccess; }
wait_until "the next scheduled cycle to bring Alice into idc" has_access
run idc access show --user alice@corp.example --directory idc
run idp group remove-member aws-sso-read-only alice@corp.example
no_access() { ! has_access; }
wait_until "the next scheduled cycle to take her out of the group" no_access
run idc group show aws-sso-read-only --directory idc
run idc access show --user alice@corp.example --directory idc
run idp app status aws-sso --cycles 3

step "Done: the servers stop now"
