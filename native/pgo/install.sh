#!/usr/bin/env bash
# Installs wafpipe into the virtualenv with its core built by profile-guided optimisation, the way
# pydantic-core builds its wheels: an instrumented core is installed and reads the sample workload
# (native/pgo/train.py), llvm-profdata merges what it counted, and the core is built again with
# that profile. The optimiser then lays out the decoders, the mapping and the renderers for the
# paths real files take: `wafpipe parse` takes ~7 % less time (bench/decode.py).
#
# llvm-profdata has to match rustc's LLVM, so it is rustup's `llvm-tools` component (added when
# missing). Without it, or if a step fails, the core is built once without a profile and a line
# says why: the result is the same program, only slower.
#
# usage: native/pgo/install.sh VENV_BIN   (CARGO_TARGET_DIR must be set; the Makefile sets it)
set -euo pipefail
bin=$1
: "${CARGO_TARGET_DIR:?the Makefile sets CARGO_TARGET_DIR}"
pgo=$CARGO_TARGET_DIR/pgo
profile=$pgo/wafpipe.profdata
base_flags=${RUSTFLAGS:-}

plain() {
  echo "building wafpipe's core without profile-guided optimisation: $1"
  rm -f "$profile"
  RUSTFLAGS=$base_flags "$bin/pip" install -q -e .
  exit 0
}

host=$(rustc -vV | sed -n 's/^host: //p')
profdata=$(rustc --print sysroot)/lib/rustlib/$host/bin/llvm-profdata
if [[ ! -x $profdata ]]; then
  timeout 300 rustup component add llvm-tools >/dev/null 2>&1 || true  # offline: it gives up
fi
[[ -x $profdata ]] || plain "rustup's llvm-tools (llvm-profdata) could not be added"

# The instrumented build in a target directory of its own: the flags differ, and cargo would
# otherwise rebuild every crate each time it switches between the two builds. Two clones sharing
# the cargo cache take turns (their counts would mix in one raw directory).
mkdir -p "$pgo"
exec 9>"$pgo/lock"
flock 9
rm -rf "$pgo/raw"
echo "building wafpipe's core: the instrumented build, then its profile, then the optimised build"
RUSTFLAGS="$base_flags -Cprofile-generate=$pgo/raw" CARGO_TARGET_DIR=$pgo/target "$bin/pip" install -q -e . \
  || plain "the instrumented build failed"
"$bin/python" native/pgo/train.py || plain "the sample workload failed"
"$profdata" merge -o "$profile" "$pgo/raw" || plain "llvm-profdata could not merge the profile"
RUSTFLAGS="$base_flags -Cprofile-use=$profile" "$bin/pip" install -q -e . || plain "the optimised build failed"
