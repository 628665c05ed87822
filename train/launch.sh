#!/usr/bin/env bash
# Multi-GPU launch of the SFT / GRPO entry points with accelerate: DDP, or DeepSpeed ZeRO-2 / ZeRO-3.
#
#   train/launch.sh sft  train/configs/sft.yaml  [--backend ddp|zero2|zero3] [--gpus N] [--dry-run] [-- ENTRY-POINT ARGS]
#   train/launch.sh grpo train/configs/grpo.yaml --backend zero3 --gpus 8 -- --triton-url triton:8001
#
# Runs from the repository root with the evaluator's environment (.venv, or $PYTHON's); DeepSpeed
# backends need `pip install deepspeed` there. --dry-run prints the command instead of running it.
set -euo pipefail

usage() { sed -n '2,9p' "$0" | sed 's/^# \{0,1\}//'; exit "${1:-0}"; }

[[ $# -ge 1 && ( $1 == -h || $1 == --help ) ]] && usage 0
[[ $# -ge 2 ]] || usage 2
stage=$1 config=$2
shift 2
case $stage in
  sft|grpo) ;;
  *) echo "launch.sh: unknown stage '$stage' (sft or grpo)" >&2; exit 2 ;;
esac
[[ -f $config ]] || { echo "launch.sh: config '$config' not found" >&2; exit 2; }

backend=ddp
gpus=$(command -v nvidia-smi >/dev/null 2>&1 && nvidia-smi -L | wc -l || echo 1)
dry_run=0
while [[ $# -gt 0 ]]; do
  case $1 in
    --backend) backend=$2; shift 2 ;;
    --gpus) gpus=$2; shift 2 ;;
    --dry-run) dry_run=1; shift ;;
    --) shift; break ;;
    *) echo "launch.sh: unknown option '$1'" >&2; exit 2 ;;
  esac
done

root=$(cd "$(dirname "$0")/.." && pwd)
accelerate_config=$root/train/accelerate/$backend.yaml
[[ -f $accelerate_config ]] || { echo "launch.sh: unknown backend '$backend' (ddp, zero2, zero3)" >&2; exit 2; }
python=${PYTHON:-$root/.venv/bin/python}

command=("$python" -m accelerate.commands.launch --config_file "$accelerate_config" --num_processes "$gpus"
         -m "train.$stage" --config "$config" "$@")
if [[ $dry_run == 1 ]]; then
  printf '%q ' "${command[@]}"; echo
  exit 0
fi
cd "$root"
exec "${command[@]}"
