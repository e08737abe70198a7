#!/usr/bin/env bash
# Rebuild the Orchard default model family (orchard-chat-1, orchard-chat-2, orchard-draft) from scratch.
#
#   bash resources/models/recipe/build.sh            # full build (~60-90 min on 2 CPU cores)
#   QUICK=1 bash resources/models/recipe/build.sh    # smoke build, a few minutes, NOT for shipping
#
# Maintainer tooling only: npm install / npm test never run this. Needs Debian packages (installed below
# when missing), /usr/bin/python3 with torch, and node + the repo's node_modules (onnxruntime-node,
# @huggingface/tokenizers, @huggingface/jinja) for tokenization and ONNX verification.
# Deterministic: fixed seeds, fixed step counts, 2 torch threads.
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
cd "$HERE"
PY=/usr/bin/python3
export ORCHARD_RECIPE_WORK="${ORCHARD_RECIPE_WORK:-${TMPDIR:-/tmp}/orchard-model-recipe-work}"
export ORCHARD_THREADS="${ORCHARD_THREADS:-2}"
export OMP_NUM_THREADS="$ORCHARD_THREADS"
export PYTHONDONTWRITEBYTECODE=1
export OMP_WAIT_POLICY="${OMP_WAIT_POLICY:-PASSIVE}"  # shared machine: do not spin-wait
mkdir -p "$ORCHARD_RECIPE_WORK"

PKGS="python3-torch python3-onnx python3-numpy libopenblas0-pthread fortunes fortunes-min nodejs"
missing=""
for p in $PKGS; do dpkg -s "$p" >/dev/null 2>&1 || missing="$missing $p"; done
if [ -n "$missing" ]; then
  SUDO=""; [ "$(id -u)" = 0 ] || SUDO=sudo
  $SUDO apt-get update && $SUDO apt-get install -y $missing
fi
[ -d "$HERE/../../../node_modules/onnxruntime-node" ] || { echo "run npm ci in the repo root first" >&2; exit 1; }

if [ "${QUICK:-0}" = 1 ]; then
  CHAT1_STEPS=${CHAT1_STEPS:-40}; CHAT2_STEPS=${CHAT2_STEPS:-20}; DRAFT_STEPS=${DRAFT_STEPS:-30}
  DISTILL_PROMPTS=${DISTILL_PROMPTS:-128}; DISTILL_STEPS=${DISTILL_STEPS:-20}
else
  CHAT1_STEPS=${CHAT1_STEPS:-200}; CHAT2_STEPS=${CHAT2_STEPS:-80}; DRAFT_STEPS=${DRAFT_STEPS:-120}
  DISTILL_PROMPTS=${DISTILL_PROMPTS:-2048}; DISTILL_STEPS=${DISTILL_STEPS:-300}
fi
BATCH=${BATCH:-8}
# Optional wall-clock safety stops in minutes (non-deterministic; only for overloaded machines).
MAXMIN_CHAT1=${MAXMIN_CHAT1:-0}; MAXMIN_CHAT2=${MAXMIN_CHAT2:-0}; MAXMIN_DRAFT=${MAXMIN_DRAFT:-0}

TIMES="$ORCHARD_RECIPE_WORK/times.tsv"
START_AT="${START_AT:-}"   # resume: e.g. START_AT=train-chat1 reuses the earlier stages' outputs
[ -n "$START_AT" ] || : > "$TIMES"
started=""; [ -n "$START_AT" ] || started=1
stage() {
  local name="$1"; shift
  [ "$name" = "$START_AT" ] && started=1
  if [ -z "$started" ]; then echo "=== [$name] skipped (START_AT=$START_AT)"; return; fi
  local t0=$SECONDS
  echo "=== [$name] $*"
  "$@"
  echo -e "$name\t$((SECONDS - t0))" >> "$TIMES"
}

stage corpus     $PY prepare_corpus.py
stage tokenizer  $PY train_tokenizer.py
stage tokenize   node tokenize.mjs "$ORCHARD_RECIPE_WORK"
stage train-chat1 $PY train.py chat1 --steps "$CHAT1_STEPS" --batch "$BATCH" --max-minutes "$MAXMIN_CHAT1"
stage export-chat1 $PY export.py chat1 orchard-chat-1
stage train-chat2 $PY train.py chat2 --steps "$CHAT2_STEPS" --batch "$BATCH" --max-minutes "$MAXMIN_CHAT2"
stage export-chat2 $PY export.py chat2 orchard-chat-2
stage train-draft $PY train.py draft --steps "$DRAFT_STEPS" --batch "$BATCH" --max-minutes "$MAXMIN_DRAFT"
stage distill-data $PY distill_data.py --prompts "$DISTILL_PROMPTS"
stage train-draft-distill $PY train.py draft-distill --steps "$DISTILL_STEPS" --batch 16
stage export-draft $PY export.py draft orchard-draft
stage evaluate   $PY evaluate.py
stage cards      $PY cards.py
echo "=== done"; cat "$TIMES"
du -sh "$HERE/.."/orchard-*
