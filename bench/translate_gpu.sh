#!/usr/bin/env bash
# Chapter 3 on one GPU: es-en Transformers (d 256, 6+6 layers, 13M parameters) trained side by
# side on one H100 for a fixed wall budget, one per variant (a model this small leaves the GPU
# mostly idle, so three processes cost little more than one). VARIANTS lists them as
# "name:flags;name:flags"; the default is one per dropout value (0.1, 0.2, 0.3). The model with the lowest
# validation loss is packed (weights, config, tokenizer, metrics; not Adam's moments) into
# $OUT/best.tar.part-*, with every run's log and metrics in $OUT/logs.tar.
#
#   OUT=/tmp/out NN2GPT_DATA=/path/to/data SECONDS_BUDGET=400 bash bench/translate_gpu.sh
#   OUT=/tmp/out NN2GPT_DATA=... SECONDS_BUDGET=200 SMOKE=0 \
#       VARIANTS="d0.3-c20k:--dropout 0.3 --coordinate 20000;d0.3-c40k:--dropout 0.3 --coordinate 40000" bash ...
#
# Reassemble: cat best.tar.part-* | tar -x -C runs/   ->  runs/es-en-gpu-dN
set -u
export PYTHONPATH=src PYTHONUNBUFFERED=1 MPLBACKEND=Agg
OUT=${OUT:?set OUT}
RUNS=${RUNS:-/tmp/translate-gpu-runs}
BUDGET=${SECONDS_BUDGET:-420}
DEVICE=${DEVICE:-cuda}  # DEVICE=cpu EXTRA="--limit 3000" SECONDS_BUDGET=10: a dry run of this script on a CPU
EXTRA=${EXTRA:-}
VARIANTS=${VARIANTS:-"d0.1:--dropout 0.1;d0.2:--dropout 0.2;d0.3:--dropout 0.3"}
IFS=';' read -r -a VARIANT_LIST <<< "$VARIANTS"
PIZZA="La pizza salió del horno y sabía bien."
MODEL=(--d-model 256 --layers 6 --heads 8 --ff 1024 --vocab-size 8000 --max-tokens 12000 --warmup 1000 --lr-factor 1.0)
rm -rf "$RUNS" "$RUNS.best.tar"; mkdir -p "$RUNS"  # a warm machine may hold an earlier call's runs
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader
python3 -c "import torch, sys; print('torch', torch.__version__, 'python', sys.version.split()[0], 'cpus', __import__('os').cpu_count())"
date -u

# 1. smoke: a few seconds on the GPU, so a broken path fails in seconds, not minutes
[ "${SMOKE:-1}" = 0 ] || python3 -m nn2gpt translate train --pair es-en --out "$RUNS/smoke" --limit 3000 --epochs 2 --max-seconds 8 \
    "${MODEL[@]}" --device "$DEVICE" --quiet --threads 4 || { echo "SMOKE FAILED"; exit 1; }
[ "${SMOKE:-1}" = 0 ] || python3 -m nn2gpt translate "$PIZZA" --model "$RUNS/smoke" --beam 4 || { echo "SMOKE DECODE FAILED"; exit 1; }

# 2. the real runs, side by side
for v in "${VARIANT_LIST[@]}"; do
  name=${v%%:*}; flags=${v#*:}
  # shellcheck disable=SC2086  # the variant's flags split into words on purpose
  python3 -m nn2gpt translate train --pair es-en --out "$RUNS/es-en-gpu-$name" --epochs 1000 --max-seconds "$BUDGET" \
      "${MODEL[@]}" $flags $EXTRA --device "$DEVICE" --quiet --threads 4 > "$RUNS/train-$name.log" 2>&1 &
done
sleep $((BUDGET < 60 ? BUDGET : 60)); nvidia-smi --query-gpu=utilization.gpu,memory.used --format=csv,noheader
wait
date -u
for v in "${VARIANT_LIST[@]}"; do
  name=${v%%:*}
  echo "== $v"; head -n 2 "$RUNS/train-$name.log"; tail -n 3 "$RUNS/train-$name.log"
  python3 -m nn2gpt translate "$PIZZA" --model "$RUNS/es-en-gpu-$name" --beam 4 --threads 4
  python3 -m nn2gpt translate "$PIZZA" --model "$RUNS/es-en-gpu-$name" --beam 1 --threads 4
done

# 3. pack the run with the lowest final validation loss (the selection never looks at the pizza)
names=(); for v in "${VARIANT_LIST[@]}"; do names+=("es-en-gpu-${v%%:*}"); done
best=$(python3 - "$RUNS" "${names[@]}" <<'PY'
import json, sys, pathlib
runs = [pathlib.Path(sys.argv[1]) / name for name in sys.argv[2:]]
def last_val(run):
    rows = [json.loads(l) for l in (run / "metrics.jsonl").read_text().splitlines() if l.strip()]
    vals = [r["val_loss"] for r in rows if "val_loss" in r]
    return vals[-1] if vals else float("inf")
for r in runs:
    print(f"{r.name}: final val loss {last_val(r):.4f}", file=sys.stderr)
print(min(runs, key=last_val).name)
PY
)
echo "best by val loss: $best"
tar -C "$RUNS" -cf "$RUNS.best.tar" --exclude=optimizer.safetensors "$best"
split -b 15M "$RUNS.best.tar" "$OUT/best.tar.part-"
(cd "$RUNS" && tar -cf "$OUT/logs.tar" train-*.log es-en-gpu-*/metrics.jsonl es-en-gpu-*/config.json es-en-gpu-*/loss.png)
ls -la "$OUT"
date -u
