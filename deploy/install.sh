#!/bin/sh
# Install the coordinator binary into the node's CNI bin directory, and the
# cluster's node defaults (the ConfigMap coordinator-defaults) into
# /etc/cni/net.d/coordinator.d/defaults.json.
#
# Runs in the DaemonSet's init container with the node's CNI bin directory
# mounted at $CNI_BIN_DIR (default /host/opt/cni/bin) and the node's
# /etc/cni/net.d/coordinator.d at $DEFAULTS_DIR (default
# /host/etc/cni/net.d/coordinator.d). Each file is first written to a temporary
# file in the SAME directory and then rename()d over the old one: the rename is
# atomic, so a runtime that executes the plugin at that moment runs either the
# old or the new binary and reads either the old or the new defaults, never a
# half-written file, and an in-place copy cannot fail with "text file busy"
# while a CNI call runs.
#
# The binary goes first, then the defaults (a new field in the defaults may need
# the new binary). No defaults source ($DEFAULTS_SRC missing, e.g. the ConfigMap
# is not there): the node's defaults file is left as it is.
set -eu

SRC="${COORDINATOR_SRC:-/coordinator}"
DIR="${CNI_BIN_DIR:-/host/opt/cni/bin}"
NAME="${COORDINATOR_NAME:-coordinator}"
DEFAULTS_SRC="${DEFAULTS_SRC:-/defaults/defaults.json}"
DEFAULTS_DIR="${DEFAULTS_DIR:-/host/etc/cni/net.d/coordinator.d}"

TMPS=""
trap 'rm -f $TMPS' EXIT INT TERM

# install_atomic SRC DIR NAME MODE: copy SRC to DIR/NAME by temp file + rename,
# unless DIR/NAME already has the same content.
install_atomic() {
  if [ -f "$2/$3" ] && cmp -s "$1" "$2/$3"; then
    echo "install.sh: $2/$3 is already up to date"
    return 0
  fi
  tmp="$2/.$3.tmp.$$"
  TMPS="$TMPS $tmp"
  cp "$1" "$tmp"
  chmod "$4" "$tmp"
  sync "$tmp" 2>/dev/null || sync
  mv -f "$tmp" "$2/$3"
  echo "install.sh: installed $2/$3 ($(wc -c <"$2/$3") bytes)"
}

if [ ! -d "$DIR" ]; then
  echo "install.sh: CNI bin directory $DIR does not exist (is the hostPath mounted?)" >&2
  exit 1
fi
if [ ! -s "$SRC" ]; then
  echo "install.sh: source binary $SRC is missing or empty" >&2
  exit 1
fi
install_atomic "$SRC" "$DIR" "$NAME" 0755

if [ ! -e "$DEFAULTS_SRC" ]; then
  echo "install.sh: no node defaults at $DEFAULTS_SRC; $DEFAULTS_DIR/defaults.json left as it is"
  exit 0
fi
if [ ! -s "$DEFAULTS_SRC" ]; then
  echo "install.sh: node defaults $DEFAULTS_SRC are empty (want a JSON object)" >&2
  exit 1
fi
mkdir -p "$DEFAULTS_DIR"
install_atomic "$DEFAULTS_SRC" "$DEFAULTS_DIR" defaults.json 0644
