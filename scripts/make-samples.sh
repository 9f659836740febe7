#!/usr/bin/env bash
# Rebuilds samples/ from ../shared/data/train (the training split; never eval) with sox.
# Deterministic: no dither (-D), fixed excerpts. Usage: bash scripts/make-samples.sh [data-root]
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
data="${1:-$root/../shared/data/train}"
out="$root/samples"
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
mkdir -p "$out"

# 1. One spoken digit, kept as recorded (8 kHz 16-bit mono WAV).
cp "$data/fsdd/recordings/7_jackson_0.wav" "$out/digit-7-jackson.wav"
chmod 644 "$out/digit-7-jackson.wav"

# 2. Five seconds of read speech, 16 kHz 16-bit mono WAV.
sox -D "$data/librispeech-train-clean-100/103-1240-0000.flac" -b 16 "$out/speech-16k.wav" trim 1.0 5.0

# 3. The same excerpt with train noise at 5 dB SNR (RMS over the whole excerpt).
#    Noise: blanket's train.ogg (24 kHz stereo) -> mono, 16 kHz, same length.
sox -D "$data/noise/blanket/train.ogg" -b 32 -e floating-point "$tmp/noise.wav" \
  remix - rate -v 16000 trim 0.5 5.0
rms() { sox "$1" -n stat 2>&1 | awk '/^RMS +amplitude/ {print $3}'; }
s_rms="$(rms "$out/speech-16k.wav")"
n_rms="$(rms "$tmp/noise.wav")"
gain="$(awk -v s="$s_rms" -v n="$n_rms" 'BEGIN { printf "%.6f", s / (n * 10 ^ (5 / 20)) }')"
sox -D -m -v 1 "$out/speech-16k.wav" -v "$gain" "$tmp/noise.wav" -b 16 "$out/speech-16k-noisy-5db.wav"

# 4. A drum loop (one bar of the amen break), kept as FLAC 44.1 kHz stereo to exercise the decoder.
cp "$data/music/sonic-pi-samples/loop_amen.flac" "$out/drum-loop-amen.flac"
chmod 644 "$out/drum-loop-amen.flac"

ls -l "$out"
