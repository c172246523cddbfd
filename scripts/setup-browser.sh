#!/usr/bin/env bash
# Install Debian's chromium + chromium-driver for the dashboard's headless-browser test
# (tests/monitor/test_dashboard_browser.py). Idempotent and instant when both are present.
# It never fails the set-up: where it cannot install (not root, no apt-get, offline), it says so
# once and the browser test is skipped with that reason. Remove .venv/.browser-setup-failed to retry.
set -u
cd "$(dirname "$0")/.."
have() { command -v chromium >/dev/null 2>&1 && command -v chromedriver >/dev/null 2>&1; }
have && exit 0
stamp=.venv/.browser-setup-failed
if [ -f "$stamp" ]; then
  exit 0
fi
why=""
if [ "$(id -u)" != 0 ]; then
  why="not root"
elif ! command -v apt-get >/dev/null 2>&1; then
  why="no apt-get"
else
  echo "setup-browser: installing chromium and chromium-driver with apt-get (dashboard browser test)"
  if ! { timeout 300 apt-get update -qq &&
         DEBIAN_FRONTEND=noninteractive timeout 900 apt-get install -y -qq chromium chromium-driver; } >/dev/null 2>&1; then
    why="apt-get install chromium chromium-driver failed"
  fi
fi
if ! have; then
  echo "setup-browser: ${why:-chromium/chromedriver not found after install}; the dashboard browser test will be skipped" >&2
  mkdir -p .venv && : > "$stamp"
fi
exit 0
