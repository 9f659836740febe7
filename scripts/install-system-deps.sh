#!/usr/bin/env bash
# Debian packages the project uses at test/bench time: sox and ffmpeg (reference peers),
# libasound2 (node-web-audio-api's native binding links ALSA), chromium (the web studio's
# end-to-end test, driven by playwright-core). Skips what is already there.
set -euo pipefail
pkgs=()
command -v sox >/dev/null 2>&1 || pkgs+=(sox libsox-fmt-all)
command -v ffmpeg >/dev/null 2>&1 || pkgs+=(ffmpeg)
ldconfig -p 2>/dev/null | grep -q libasound.so.2 || pkgs+=(libasound2)
[ -x /usr/bin/chromium ] || [ "${SONODIFF_NO_BROWSER:-}" = "1" ] || pkgs+=(chromium)
if [ "${#pkgs[@]}" -gt 0 ]; then
  if [ "$(id -u)" -ne 0 ]; then
    echo "sonodiff: please install: ${pkgs[*]} (apt-get install ${pkgs[*]})" >&2
    exit 1
  fi
  echo "sonodiff: installing ${pkgs[*]}" >&2
  apt-get update -qq >&2
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${pkgs[@]}" >&2
fi
