# Sourced by scripts/test.sh and scripts/test-web.sh: `phase NAME COMMAND...` prints
# "== NAME", runs the command, and records its wall time (and its exit status when
# not 0); the record is printed when the script exits, failed or not, so a run of
# the suite says where its minutes went.
phase_log=()
phase() {
    local name=$1 t0=$SECONDS status=0
    shift
    echo "== $name"
    "$@" || status=$?
    local note=""
    [ "$status" -eq 0 ] || note=" (failed, exit $status)"
    phase_log+=("$(printf '%6d s  %s%s' $((SECONDS - t0)) "$name" "$note")")
    return "$status"
}
phase_times() {
    echo "== wall time by phase"
    printf '%s\n' "${phase_log[@]}"
}
trap phase_times EXIT
