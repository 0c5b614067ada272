#!/usr/bin/env bash
# Install the Debian packages that `deno task test` or `deno task demo` needs, when
# some are missing: the first step of both tasks (deno.json), so the README's
# `npx --yes deno@2.9.6 task test` works on a fresh Debian/Ubuntu machine.
#
#   bash tools/scripts/ensure_packages.sh test   # the test suite (and .ci/run through it)
#   bash tools/scripts/ensure_packages.sh demo   # the demo
#
# As root it runs `apt-get update` and `apt-get install --no-install-recommends`
# for the missing ones only. Package scripts may not start services meanwhile (a
# temporary /usr/sbin/policy-rc.d answering 101): Debian's containerd would
# otherwise start the machine's containerd service, which the tests never use
# (tests/e2e/_containerd.ts runs a private containerd with its own config, root,
# state and socket in a temp dir, inside a private mount namespace).
# Without root, on a machine without dpkg, or when apt-get fails, it says what is
# missing and exits 0: the tests that need a missing tool report themselves as
# ignored, the demo says what it needs.
set -uo pipefail

case "${1:-test}" in
  test)
    # ip; iptables-restore for underlay mode; macvlan/static/host-local/ptp for the
    # chains; ping for traffic checks; nft for kube-proxy's nftables mode in the two-node
    # suite; containerd, runc and busybox-static for e2e.
    PACKAGES=(iproute2 iptables containernetworking-plugins iputils-ping nftables containerd runc busybox-static)
    ;;
  demo)
    PACKAGES=(iproute2 iptables containernetworking-plugins iputils-ping)
    ;;
  *)
    echo "usage: $0 test|demo" >&2
    exit 2
    ;;
esac

say() { echo "ensure_packages: $*" >&2; }

if ! command -v dpkg-query >/dev/null 2>&1; then
  say "no dpkg here: install ${PACKAGES[*]} (or their equivalents) yourself"
  exit 0
fi

missing=()
for p in "${PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
((${#missing[@]} == 0)) && exit 0

if [[ $(id -u) -ne 0 ]]; then
  say "not root, cannot install ${missing[*]}: tests that need them report themselves as ignored"
  say "as root: apt-get install --no-install-recommends ${missing[*]}"
  exit 0
fi

policy=/usr/sbin/policy-rc.d
made_policy=0
if [[ ! -e $policy ]]; then
  printf '#!/bin/sh\n# ensure_packages.sh: start no service while installing\nexit 101\n' >"$policy"
  chmod 0755 "$policy"
  made_policy=1
fi
cleanup() { if ((made_policy)); then rm -f "$policy"; fi; }
trap cleanup EXIT

say "installing ${missing[*]}"
log=$(mktemp)
if apt-get update -qq >"$log" 2>&1 &&
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
    "${missing[@]}" >>"$log" 2>&1; then
  rm -f "$log"
  exit 0
fi
say "apt-get failed (last lines below); tests that need ${missing[*]} report themselves as ignored"
tail -n 15 "$log" >&2
rm -f "$log"
exit 0
