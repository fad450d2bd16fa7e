#!/usr/bin/env bash
# Run every Open311 client-library driver in this folder against a GeoReport v2
# endpoint. Installs what is missing first (npm ci; python venv + pip), and
# works offline once installed. Exit status: non-zero if any driver failed.
#
#   tests/open311-clients/run.sh --base http://127.0.0.1:PORT/open311/v2/ --api-key KEY \
#       [--photo PATH.jpg] [--jurisdiction 310000|''] [--only NAME[,NAME]] [--install-only]
#
# --photo: JPEG to upload where a library can upload media (default: a tiny
#          JPEG written by make_photo.py to .work/photo.jpg).
# --jurisdiction: jurisdiction_id the libraries send (default 310000; '' sends none).
# --only: run only these drivers (node_open311, py_georeport, py_civicbot).
# Environment: PYTHON (default python3), NODE (default node), NPM (default npm).
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
PYTHON="${PYTHON:-python3}"
NODE="${NODE:-node}"
NPM="${NPM:-npm}"

usage() { awk 'NR > 1 && /^#/ { sub(/^# ?/, ""); print; next } NR > 1 { exit }' "${BASH_SOURCE[0]}"; }

BASE="" API_KEY="" PHOTO="" JURISDICTION="310000" ONLY="" INSTALL_ONLY=0
while [[ $# -gt 0 ]]; do
  case "$1" in
    --base) BASE="${2:?--base needs a value}"; shift 2 ;;
    --api-key) API_KEY="${2:?--api-key needs a value}"; shift 2 ;;
    --photo) PHOTO="${2:?--photo needs a value}"; shift 2 ;;
    --jurisdiction) [[ $# -ge 2 ]] || { echo "run.sh: --jurisdiction needs a value ('' for none)" >&2; exit 2; }
                    JURISDICTION="$2"; shift 2 ;;
    --only) ONLY="${2:?--only needs a value}"; shift 2 ;;
    --install-only) INSTALL_ONLY=1; shift ;;
    -h|--help) usage; exit 0 ;;
    *) echo "run.sh: unknown argument: $1" >&2; usage >&2; exit 2 ;;
  esac
done
if [[ $INSTALL_ONLY -eq 0 && ( -z "$BASE" || -z "$API_KEY" ) ]]; then
  echo "run.sh: --base and --api-key are required" >&2; usage >&2; exit 2
fi

sha() { "$PYTHON" -c 'import hashlib,sys; print(hashlib.sha256(open(sys.argv[1],"rb").read()).hexdigest())' "$1"; }

install_node() {
  local stamp="$HERE/node_modules/.cityloop-lock.sha256" want
  want="$(sha "$HERE/package-lock.json")"
  if [[ -f "$stamp" && "$(cat "$stamp")" == "$want" && -f "$HERE/node_modules/open311/package.json" ]]; then
    return 0
  fi
  echo "run.sh: installing npm packages (npm ci)" >&2
  # prefer the local cache; if the registry is unreachable, fall back to the cache alone
  (cd "$HERE" && { "$NPM" ci --prefer-offline --no-audit --no-fund >&2 || "$NPM" ci --offline --no-audit --no-fund >&2; })
  echo "$want" > "$stamp"
}

install_python() {
  local venv="$HERE/.venv" stamp="$HERE/.venv/.cityloop-requirements.sha256" want
  want="$(sha "$HERE/requirements.txt")"
  if [[ -f "$stamp" && "$(cat "$stamp")" == "$want" && -x "$venv/bin/python" ]]; then
    return 0
  fi
  echo "run.sh: installing python packages into $venv" >&2
  [[ -x "$venv/bin/python" ]] || "$PYTHON" -m venv "$venv"
  "$venv/bin/python" -m pip install --disable-pip-version-check -q --require-hashes -r "$HERE/requirements.txt" >&2
  echo "$want" > "$stamp"
}

install_node
install_python
[[ $INSTALL_ONLY -eq 1 ]] && { echo "run.sh: installed" >&2; exit 0; }

if [[ -z "$PHOTO" ]]; then
  mkdir -p "$HERE/.work"
  PHOTO="$HERE/.work/photo.jpg"
  "$PYTHON" "$HERE/make_photo.py" "$PHOTO"
fi
[[ -f "$PHOTO" ]] || { echo "run.sh: photo not found: $PHOTO" >&2; exit 2; }

DRIVERS=(node_open311 py_georeport py_civicbot)
wanted() { [[ -z "$ONLY" ]] || [[ ",$ONLY," == *",$1,"* ]]; }
if [[ -n "$ONLY" ]]; then
  IFS=',' read -r -a only_list <<< "$ONLY"
  for o in "${only_list[@]}"; do
    [[ " ${DRIVERS[*]} " == *" $o "* ]] || { echo "run.sh: unknown driver '$o' (known: ${DRIVERS[*]})" >&2; exit 2; }
  done
fi

passed=0 failed=0 failed_names=()
for d in "${DRIVERS[@]}"; do
  wanted "$d" || continue
  echo "== $d"
  case "$d" in
    node_*) cmd=("$NODE" "$HERE/$d.mjs") ;;
    py_*) cmd=("$HERE/.venv/bin/python" "$HERE/$d.py") ;;
  esac
  if (cd "$HERE" && "${cmd[@]}" --base "$BASE" --api-key "$API_KEY" --photo "$PHOTO" --jurisdiction "$JURISDICTION"); then
    passed=$((passed + 1))
  else
    failed=$((failed + 1)); failed_names+=("$d")
  fi
done

[[ $failed -eq 0 ]] || echo "run.sh: failed drivers: ${failed_names[*]}"
echo "open311-clients: $passed passed, $failed failed"
[[ $failed -eq 0 ]]
