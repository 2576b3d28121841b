#!/usr/bin/env bash
# Debian packages the piano's sound needs: FluidSynth renders a performance's key presses to audio for the
# rating clips (robopianist's synthesizer loads libfluidsynth), and PortAudio's headers build pyaudio, which
# robopianist imports. Installed once; no-op when present.
set -euo pipefail
need=()
[ -e /usr/include/portaudio.h ] || need+=(portaudio19-dev)
ldconfig -p 2>/dev/null | grep -q 'libfluidsynth\.so\.3' || need+=(libfluidsynth3)
command -v fluidsynth >/dev/null || need+=(fluidsynth)
[ ${#need[@]} -eq 0 ] && exit 0
if [ "$(id -u)" != 0 ] || ! command -v apt-get >/dev/null; then
  echo "[sound] missing Debian packages ${need[*]} and this user cannot apt-get them: the piano's sound tests will fail" >&2
  exit 1
fi
echo "[sound] installing Debian ${need[*]} (one time)"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq >/dev/null && apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null \
  || { echo "[sound] error: apt-get could not install ${need[*]}" >&2; exit 1; }
