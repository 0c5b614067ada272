#!/bin/sh
# Install the coordinator binary into the node's CNI bin directory.
#
# Runs in the DaemonSet's init container with the node's CNI bin directory
# mounted at $CNI_BIN_DIR (default /host/opt/cni/bin). The binary is first
# written to a temporary file in the SAME directory and then rename()d over the
# old one: the rename is atomic, so a runtime that executes the plugin at that
# moment runs either the old or the new file, never a half-written one, and an
# in-place copy cannot fail with "text file busy" while a CNI call runs.
set -eu

SRC="${COORDINATOR_SRC:-/coordinator}"
DIR="${CNI_BIN_DIR:-/host/opt/cni/bin}"
NAME="${COORDINATOR_NAME:-coordinator}"

if [ ! -d "$DIR" ]; then
  echo "install.sh: CNI bin directory $DIR does not exist (is the hostPath mounted?)" >&2
  exit 1
fi
if [ ! -s "$SRC" ]; then
  echo "install.sh: source binary $SRC is missing or empty" >&2
  exit 1
fi

if [ -f "$DIR/$NAME" ] && cmp -s "$SRC" "$DIR/$NAME"; then
  echo "install.sh: $DIR/$NAME is already up to date"
  exit 0
fi

TMP="$DIR/.$NAME.tmp.$$"
trap 'rm -f "$TMP"' EXIT INT TERM
cp "$SRC" "$TMP"
chmod 0755 "$TMP"
sync "$TMP" 2>/dev/null || sync
mv -f "$TMP" "$DIR/$NAME"
trap - EXIT INT TERM
echo "install.sh: installed $DIR/$NAME ($(wc -c <"$DIR/$NAME") bytes)"
