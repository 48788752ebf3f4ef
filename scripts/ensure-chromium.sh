#!/usr/bin/env bash
# The widget's browser tests (e2e/widget) drive Chromium. Installs Debian's chromium package
# when no Chromium is on PATH (as root, or through sudo); on other systems, install Chromium
# or Chrome yourself and put it on PATH.
set -euo pipefail
for name in chromium chromium-browser google-chrome google-chrome-stable; do
  command -v "$name" >/dev/null 2>&1 && exit 0
done
if ! command -v apt-get >/dev/null 2>&1; then
  echo "the widget's browser tests need Chromium: install it and put it on PATH" >&2
  exit 1
fi
sudo=""
if [ "$(id -u)" -ne 0 ]; then sudo="sudo"; fi
echo "installing Chromium for the widget's browser tests (apt-get install chromium)"
$sudo apt-get update -qq
$sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null
