#!/usr/bin/env bash
# Reproduce every table and figure of the paper, then build the report.
#
#   ./run_all.sh [--profile P] [--seeds N] [--devices cpu|cpu:N|cuda:0x4,cuda:1x4] [--data DIR]
#                [--results DIR] [--plots DIR] [--scheduler tcp://HOST:PORT|slurm [--retries N] [--slurm-OPTION VALUE ...]] [--preset clean|authors]
#                [--until-resolved [--max-seeds N]] [--dry-run]
#
# Runs `mocose reproduce NAME...` for every artifact of `mocose list`, in one call so that the job
# processes are kept from artifact to artifact (finished runs are never run again, so an
# interrupted run_all.sh picks up where it stopped), then `mocose report` for all of them. An
# artifact with a failed run does not stop the others; the script then exits non-zero.
# --dry-run: every artifact's runs, the distinct runs still to train over all of them, and their
# estimated device and wall time on --devices (from the step-time table or past runs); runs nothing.
# --until-resolved: --seeds a cell first, then seeds only for unresolved claims, up to --max-seeds
# (default 10; docs/seeds.md); the summary says how many runs that saved against --max-seeds for all.
# MOCOSE overrides the command used (default: `mocose` if installed, else `python -m mocose`).
set -euo pipefail

usage() {
    sed -n '2,15p' "$0" | sed 's/^# \{0,1\}//'
}

profile=cpu
seeds=3  # runs per cell; CI passes --seeds 1 to stay fast
devices=cpu
data=""
results=""
plots=""
scheduler=""
preset=clean
dry_run=0
until_resolved=0
max_seeds=""
cluster_opts=()  # --retries and --slurm-* go to reproduce as given
while [[ $# -gt 0 ]]; do
    case "$1" in
        --profile|--seeds|--devices|--data|--results|--plots|--scheduler|--preset|--max-seeds)
            [[ $# -ge 2 ]] || { echo "run_all.sh: $1 needs a value" >&2; exit 2; }
            key="${1#--}"
            declare "${key//-/_}=$2"
            shift 2 ;;
        --profile=*|--seeds=*|--devices=*|--data=*|--results=*|--plots=*|--scheduler=*|--preset=*|--max-seeds=*)
            key="${1%%=*}"
            key="${key#--}"
            declare "${key//-/_}=${1#*=}"
            shift ;;
        --retries=*|--slurm-*=*) cluster_opts+=("$1"); shift ;;
        --retries|--slurm-*)
            [[ $# -ge 2 ]] || { echo "run_all.sh: $1 needs a value" >&2; exit 2; }
            cluster_opts+=("$1" "$2"); shift 2 ;;
        --dry-run) dry_run=1; shift ;;
        --until-resolved) until_resolved=1; shift ;;
        -h|--help) usage; exit 0 ;;
        *) echo "run_all.sh: unknown option '$1'" >&2; usage >&2; exit 2 ;;
    esac
done

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
if [[ -n "${MOCOSE:-}" ]]; then
    read -r -a mocose <<< "$MOCOSE"
elif command -v mocose > /dev/null 2>&1; then
    mocose=(mocose)
else
    export PYTHONPATH="$here${PYTHONPATH:+:$PYTHONPATH}"
    mocose=("${PYTHON:-python}" -m mocose)
fi

where=(--profile "$profile")
[[ -n "$results" ]] && where+=(--results "$results")
run_opts=(--seeds "$seeds" --devices "$devices" --preset "$preset" --no-report)
[[ -n "$data" ]] && run_opts+=(--data "$data")
[[ -n "$plots" ]] && run_opts+=(--plots "$plots")
[[ -n "$scheduler" ]] && run_opts+=(--scheduler "$scheduler")
run_opts+=("${cluster_opts[@]}")
if [[ $until_resolved -eq 1 ]]; then
    run_opts+=(--until-resolved)
    [[ -n "$max_seeds" ]] && run_opts+=(--max-seeds "$max_seeds")
elif [[ -n "$max_seeds" ]]; then
    echo "run_all.sh: --max-seeds needs --until-resolved" >&2
    exit 2
fi
report_opts=()
[[ -n "$plots" ]] && report_opts+=(--plots "$plots")
if [[ "$preset" != clean ]]; then  # a report that knows presets builds the preset's tables
    if "${mocose[@]}" report --help 2> /dev/null | grep -q -- --preset; then
        report_opts+=(--preset "$preset")
    else
        echo "run_all.sh: this report has no --preset; its tables show the clean runs" >&2
    fi
fi

if [[ $dry_run -eq 1 && $until_resolved -eq 1 ]]; then  # the next round of each artifact, priced
    # shellcheck disable=SC2046  # one artifact name a word
    exec "${mocose[@]}" reproduce $("${mocose[@]}" list --names "${where[@]}") "${where[@]}" "${run_opts[@]}" --dry-run
fi
if [[ $dry_run -eq 1 ]]; then
    estimate=(--seeds "$seeds" --devices "$devices" --preset "$preset" --estimate)
    [[ -n "$data" ]] && estimate+=(--data "$data")
    exec "${mocose[@]}" list "${where[@]}" "${estimate[@]}"
fi

names="$("${mocose[@]}" list --names "${where[@]}")"
start=$SECONDS
# One reproduce for all artifacts: each device slot keeps its job process from one artifact to the
# next. It goes on past an artifact with failed runs, names those at the end and exits 1; 2 means
# it refused its arguments (nothing ran), 130 an interrupt: no report then.
rc=0
log="$(mktemp)"
trap 'rm -f "$log"' EXIT
# shellcheck disable=SC2086  # one artifact name a word
"${mocose[@]}" reproduce $names "${where[@]}" "${run_opts[@]}" | tee "$log" || rc=$?
if [[ $rc -eq 130 ]]; then
    echo "run_all.sh: interrupted; run it again to go on where it stopped" >&2
    exit 130
elif [[ $rc -eq 2 ]]; then
    echo "run_all.sh: reproduce refused its arguments (above); nothing ran" >&2
    exit 2
fi

echo "=== report ==="
report_ok=1
"${mocose[@]}" report "${where[@]}" ${report_opts[@]+"${report_opts[@]}"} || report_ok=0

echo "run_all.sh: $(wc -w <<< "$names") artifacts in $(( SECONDS - start ))s; profile $profile"
saved="$(grep -m1 'the sequential plan took' "$log" || true)"
[[ -n "$saved" ]] && echo "run_all.sh: ${saved#reproduce: }"
if [[ $rc -ne 0 ]]; then
    echo "run_all.sh: reproduce exited with status $rc: artifacts with failed runs or reports are named above (see the failed/ folder of the results)" >&2
fi
if [[ $report_ok -eq 0 ]]; then
    echo "run_all.sh: the report failed" >&2
fi
[[ $rc -eq 0 && $report_ok -eq 1 ]]
