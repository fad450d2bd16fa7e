#!/usr/bin/env bash
# Run the SensorThings API client-library driver(s) in this folder against an
# OGC SensorThings API 1.1 endpoint. Installs what is missing first (python
# venv + pip), and works offline once installed. Exit status: non-zero if any
# driver failed.
#
#   tests/sta-clients/run.sh --base http://127.0.0.1:PORT/sta/v1.1 --api-key KEY \
#       [--mqtt-host 127.0.0.1 [--mqtt-port 1883] [--mqtt-prefix P/]] [--only NAME[,NAME]] [--keep] [--trace] [--install-only]
#
# --api-key: sent as the HTTP Basic password (user name 'gateway') on every request.
# --mqtt-prefix: the topic prefix the server listens under (the demo's is printed at start).
# --mqtt-host/--mqtt-port: also publish an Observation over MQTT and poll HTTP until
#          it appears (skipped without --mqtt-host).
# --only: run only these drivers (py_frost).
# --keep: leave the entities a driver created in place (default: deletes them at the end).
# --trace: print every HTTP request and response the library makes.
# Environment: PYTHON (default python3).
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
PYTHON="${PYTHON:-python3}"

usage() { awk 'NR > 1 && /^#/ { sub(/^# ?/, ""); print; next } NR > 1 { exit }' "${BASH_SOURCE[0]}"; }

BASE="" API_KEY="" MQTT_HOST="" MQTT_PORT="1883" MQTT_PREFIX="" ONLY="" INSTALL_ONLY=0 EXTRA=()
while [[ $# -gt 0 ]]; do
  case "$1" in
    --base) BASE="${2:?--base needs a value}"; shift 2 ;;
    --api-key) API_KEY="${2:?--api-key needs a value}"; shift 2 ;;
    --mqtt-host) MQTT_HOST="${2:?--mqtt-host needs a value}"; shift 2 ;;
    --mqtt-port) MQTT_PORT="${2:?--mqtt-port needs a value}"; shift 2 ;;
    --mqtt-prefix) MQTT_PREFIX="${2:?--mqtt-prefix needs a value}"; shift 2 ;;
    --only) ONLY="${2:?--only needs a value}"; shift 2 ;;
    --keep) EXTRA+=(--keep); shift ;;
    --trace) EXTRA+=(--trace); shift ;;
    --install-only) INSTALL_ONLY=1; shift ;;
    -h|--help) usage; exit 0 ;;
    *) echo "run.sh: unknown argument: $1" >&2; usage >&2; exit 2 ;;
  esac
done
if [[ $INSTALL_ONLY -eq 0 && ( -z "$BASE" || -z "$API_KEY" ) ]]; then
  echo "run.sh: --base and --api-key are required" >&2; usage >&2; exit 2
fi

sha() { "$PYTHON" -c 'import hashlib,sys; print(hashlib.sha256(open(sys.argv[1],"rb").read()).hexdigest())' "$1"; }

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

install_python
[[ $INSTALL_ONLY -eq 1 ]] && { echo "run.sh: installed" >&2; exit 0; }

DRIVERS=(py_frost)
wanted() { [[ -z "$ONLY" ]] || [[ ",$ONLY," == *",$1,"* ]]; }
if [[ -n "$ONLY" ]]; then
  IFS=',' read -r -a only_list <<< "$ONLY"
  for o in "${only_list[@]}"; do
    [[ " ${DRIVERS[*]} " == *" $o "* ]] || { echo "run.sh: unknown driver '$o' (known: ${DRIVERS[*]})" >&2; exit 2; }
  done
fi

MQTT_ARGS=()
[[ -n "$MQTT_HOST" ]] && MQTT_ARGS=(--mqtt-host "$MQTT_HOST" --mqtt-port "$MQTT_PORT" --mqtt-prefix "$MQTT_PREFIX")

passed=0 failed=0 failed_names=()
for d in "${DRIVERS[@]}"; do
  wanted "$d" || continue
  echo "== $d"
  if (cd "$HERE" && "$HERE/.venv/bin/python" "$HERE/$d.py" --base "$BASE" --api-key "$API_KEY" \
        ${MQTT_ARGS[@]+"${MQTT_ARGS[@]}"} ${EXTRA[@]+"${EXTRA[@]}"}); then
    passed=$((passed + 1))
  else
    failed=$((failed + 1)); failed_names+=("$d")
  fi
done

[[ $failed -eq 0 ]] || echo "run.sh: failed drivers: ${failed_names[*]}"
echo "sta-clients: $passed passed, $failed failed"
[[ $failed -eq 0 ]]
