#!/usr/bin/env bash
# A stand-in for postroom's example server, used only by test_harness.py to
# check the postroom fixture's wiring (start-up output parsing, deliver,
# stop) before the real example exists. It accepts the same command line
# (`--data DIR --users FILE --imap A --imaps A --pop3 A --pop3s A`, and
# `... deliver --user NAME`) and runs a private Dovecot underneath.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
scripts="$here/../../scripts"
data="" users="" sub="" user=""
while [ $# -gt 0 ]; do
    case "$1" in
        --data) data=$2; shift 2 ;;
        --users) users=$2; shift 2 ;;
        --imap|--imaps|--pop3|--pop3s) shift 2 ;;
        deliver) sub=deliver; shift ;;
        --user) user=$2; shift 2 ;;
        *) echo "standin: unknown argument $1" >&2; exit 2 ;;
    esac
done
if [ -z "$data" ] || [ -z "$users" ]; then
    echo "standin: --data and --users required" >&2
    exit 2
fi
if [ "$sub" = deliver ]; then
    conf=$(sed -n 's/^CONFIG=//p' "$data/dovecot/state")
    exec /usr/lib/dovecot/dovecot-lda -c "$conf" -d "$user" -f sender@example.org
fi
# passwd-file "name:{PLAIN}secret" lines -> dovecot-start's name:secret.
mapfile -t accounts < <(sed -n 's/^\([^:]*\):{PLAIN}\([^:]*\).*/\1:\2/p' "$users")
"$scripts/dovecot-start" "$data/dovecot" "${accounts[@]}" >/dev/null
# shellcheck disable=SC1091
. "$data/dovecot/state"
echo "stand-in server; certificate $CA_CERT"
echo "IMAP (STARTTLS) on 127.0.0.1:$IMAP_PORT"
echo "IMAPS on 127.0.0.1:$IMAPS_PORT"
echo "POP3 (STLS) on 127.0.0.1:$POP3_PORT"
echo "POP3S on 127.0.0.1:$POP3S_PORT"
sleep infinity &
sleeper=$!
stop() {
    kill "$sleeper" 2>/dev/null || true
    "$scripts/dovecot-stop" "$data/dovecot"
    exit 0
}
trap stop TERM INT
wait "$sleeper"
