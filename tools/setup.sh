# Sourced by tools/test.sh and tools/demo.sh: installs what the build needs on a fresh Debian
# machine (apt-get, when run as root), finds the CUDA toolkit, configures and builds into
# $SEAM_BUILD (default: build). Not meant to be run on its own.
set -euo pipefail
SEAM_BUILD=${SEAM_BUILD:-build}

need_pkgs=()
command -v meson >/dev/null || need_pkgs+=(meson)
command -v ninja >/dev/null || need_pkgs+=(ninja-build)
command -v pkg-config >/dev/null || need_pkgs+=(pkg-config)
command -v cc >/dev/null || need_pkgs+=(gcc g++)
command -v python3 >/dev/null || need_pkgs+=(python3)
command -v nm >/dev/null || need_pkgs+=(binutils)
pkg-config --exists cmocka 2>/dev/null || need_pkgs+=(libcmocka-dev)
if [ ${#need_pkgs[@]} -gt 0 ]; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    echo "seam setup: installing ${need_pkgs[*]}"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq >/dev/null
    apt-get install -y -qq --no-install-recommends "${need_pkgs[@]}" >/dev/null
  else
    echo "seam setup: missing ${need_pkgs[*]}; install them (apt-get as root) and rerun" >&2
    exit 1
  fi
fi

# The CUDA toolkit (nvcc >= 12.4) is needed to build, not to run the CPU paths.
if ! command -v nvcc >/dev/null; then
  for d in /usr/local/cuda/bin /usr/local/cuda-*/bin; do
    [ -x "$d/nvcc" ] && export PATH="$d:$PATH" && break
  done
fi
command -v nvcc >/dev/null || { echo "seam setup: nvcc not found: install the CUDA toolkit (12.4 or newer)" >&2; exit 1; }

if [ ! -f "$SEAM_BUILD/build.ninja" ]; then
  setup_args=(--buildtype=release)
  [ "${CI:-}" = true ] && setup_args+=(-Dwerror=true)
  meson setup "$SEAM_BUILD" "${setup_args[@]}" ${SEAM_MESON_ARGS:-} >/dev/null
fi
meson compile -C "$SEAM_BUILD" >/dev/null
