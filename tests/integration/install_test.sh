#!/usr/bin/env bash
# The installed library as its users meet it: `cmake --install` into a temporary prefix, then examples/
# configured and built against that prefix alone, once through find_package(sparsepose) and once
# through pkg-config, each run on a bundled image and checked against the in-tree build's pose_image
# (same people); and the installed GStreamer plugin found through the prefix, opening the installed
# bundled model. Only the example is compiled, so this stays in seconds.
#
#   install_test.sh BUILD_DIR SOURCE_DIR IN_TREE_POSE_IMAGE
set -euo pipefail
build=$1
src=$2
in_tree=$3
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
prefix=$tmp/prefix
image=$src/assets/images/bus.jpg
fail() { echo "FAIL: $*" >&2; exit 1; }

cmake --install "$build" --prefix "$prefix" >"$tmp/install.log" || { cat "$tmp/install.log"; fail "cmake --install"; }
libdir=$(dirname "$(find "$prefix" -name 'libsparsepose.so' -print -quit)")
[ -d "$libdir" ] || fail "no libsparsepose.so under $prefix"
for f in "$libdir/pkgconfig/sparsepose.pc" "$libdir/cmake/sparsepose/sparseposeConfig.cmake" \
         "$prefix/include/sparsepose/sparsepose.h" "$prefix/bin/sparsepose" "$libdir/gstreamer-1.0/libgstsparsepose.so"; do
  [ -e "$f" ] || fail "not installed: ${f#"$prefix"/}"
done

launcher=()
command -v ccache >/dev/null && launcher=(-DCMAKE_CXX_COMPILER_LAUNCHER=ccache)
# Nothing from the build tree may leak in: the prefix is the only place to look.
cmake -S "$src/examples" -B "$tmp/with-find-package" -DCMAKE_BUILD_TYPE=Release "${launcher[@]}" \
  -DCMAKE_PREFIX_PATH="$prefix" >"$tmp/fp.log" || { cat "$tmp/fp.log"; fail "configure with find_package"; }
PKG_CONFIG_PATH=$libdir/pkgconfig cmake -S "$src/examples" -B "$tmp/with-pkg-config" -DCMAKE_BUILD_TYPE=Release \
  "${launcher[@]}" -DSP_EXAMPLES_PKGCONFIG=ON >"$tmp/pc.log" || { cat "$tmp/pc.log"; fail "configure with pkg-config"; }
grep -q "Found sparsepose" "$tmp/pc.log" || { cat "$tmp/pc.log"; fail "pkg-config did not find sparsepose"; }
for route in with-find-package with-pkg-config; do
  cmake --build "$tmp/$route" >"$tmp/$route.build.log" || { cat "$tmp/$route.build.log"; fail "build $route"; }
done

"$in_tree" --threads 1 "$image" >"$tmp/in-tree.json"
for route in with-find-package with-pkg-config; do
  exe=$tmp/$route/pose_image
  # The example must load the installed library, not the build tree's.
  loaded=$(ldd "$exe" | awk '/libsparsepose/ { print $3 }')
  case "$loaded" in "$libdir"/*) ;; *) fail "$route: pose_image loads '$loaded', not the prefix's library" ;; esac
  "$exe" --threads 1 "$image" >"$tmp/$route.json" || fail "$route: pose_image failed"
  # Same people as the in-tree build; the installed copy of the bundled model; at least one person
  # (bus.jpg shows several), so an empty result on both sides cannot pass.
  python3 - "$tmp/in-tree.json" "$tmp/$route.json" "$prefix" "$route" <<'EOF'
import json, sys
ref, got = (json.load(open(p)) for p in sys.argv[1:3])
prefix, route = sys.argv[3], sys.argv[4]
strip = lambda d: [[{k: v for k, v in p.items()} for p in im["persons"]] for im in d["images"]]
assert got["model"].startswith(prefix + "/share/sparsepose/assets/"), f"{route}: model {got['model']} is not the installed one"
assert strip(got) == strip(ref), f"{route}: people differ from the in-tree build"
n = len(got["images"][0]["persons"])
assert n >= 1, f"{route}: no person found"
print(f"{route}: {n} persons, same as the in-tree build, model {got['model'][len(prefix):]}")
EOF
done

# The installed plugin: found through the prefix (as GStreamer finds it in /usr when the prefix is the
# system's), loading libsparsepose next to it and the installed bundled model.
export GST_REGISTRY=$tmp/gst-registry.bin
export GST_PLUGIN_PATH=$libdir/gstreamer-1.0
gst-inspect-1.0 sparsepose >"$tmp/inspect.txt" 2>&1 || { cat "$tmp/inspect.txt"; fail "gst-inspect-1.0 sparsepose (installed)"; }
grep -q "$libdir/gstreamer-1.0/libgstsparsepose.so" "$tmp/inspect.txt" || fail "gst-inspect found another copy of the plugin"
gst-launch-1.0 -q videotestsrc num-buffers=2 ! video/x-raw,width=160,height=120 ! videoconvert ! \
  sparsepose imgsz=160 threads=1 ! fakesink >"$tmp/launch.txt" 2>&1 || { cat "$tmp/launch.txt"; fail "installed plugin run"; }
echo "install test: OK"
