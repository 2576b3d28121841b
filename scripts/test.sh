#!/usr/bin/env bash
# The workspace's test command (README, .ci/run): bootstrap, Python 3.10 / Humble lint of the
# whole tree, then `colcon test` of every package, failing when any test fails or a package ran none.
#
#   scripts/test.sh                       # everything
#   scripts/test.sh --packages-select rlhf_sim rlhf_recorder   # extra args go to colcon test
set -euo pipefail
WS="$(cd "$(dirname "$0")/.." && pwd)"
cd "$WS"
"$WS/scripts/bootstrap.sh"
"$WS/scripts/install_browser.sh"
"$WS/scripts/install_postgres.sh"
# shellcheck disable=SC1091
source "$WS/scripts/env.sh"

# DDS isolation: a domain of our own and no traffic off this machine.
export ROS_DOMAIN_ID="${ROS_DOMAIN_ID:-$(( RANDOM % 100 + 100 ))}"
if [ "$ROS_DISTRO" = humble ]; then export ROS_LOCALHOST_ONLY=1; else export ROS_AUTOMATIC_DISCOVERY_RANGE=LOCALHOST; fi
echo "[test] ROS_DOMAIN_ID=$ROS_DOMAIN_ID, localhost-only discovery"

echo "[test] lint: Python 3.10 syntax, Humble-compatible rclpy, ruff, copyright"
python scripts/lint.py src launch bench scripts tests

rm -rf build/*/pytest.xml build/*/test_results
echo "[test] workspace tests (bootstrap, lint guard)"
mkdir -p build/workspace
python -m pytest -q tests --junit-xml=build/workspace/pytest.xml -p no:cacheprovider || true

echo "[test] colcon test"
# A run started with SIGINT ignored (a background job of a non-interactive shell, nohup) would pass that on to
# the graphs the tests stop with SIGINT, as Ctrl-C does, and they would never stop. Installing a handler and
# then exec'ing colcon gives colcon, and everything the tests start, SIGINT's default disposition again.
python -c 'import os, signal, sys; signal.signal(signal.SIGINT, signal.default_int_handler); os.execvp(sys.argv[1], sys.argv[1:])' \
  colcon test --executor sequential --event-handlers console_direct+ --return-code-on-test-failure "$@" \
  || true   # the report below decides, and says why
colcon test-result --all >/dev/null 2>&1 || true
python scripts/test_report.py "$WS/build" "$@"
