# A bare Debian 12 root, and running a command with it as / (sourced by scripts/fresh-debian-check
# and scripts/deb-install-check). Needs root, debootstrap, and a Debian mirror in /etc/apt.

# This machine's Debian mirror, as apt is set up here (deb822 or one-line format); status 0
# whatever it finds, so that `set -e -o pipefail` callers see an empty answer, not an exit.
fresh_mirror() {
  local f
  for f in /etc/apt/sources.list.d/*.sources; do
    [[ -f $f ]] || continue
    awk '/^URIs:/ {print $2; exit}' "$f"
  done | grep -v -- '-security' | head -n1
  if [[ -f /etc/apt/sources.list ]]; then
    awk '$1 == "deb" && $0 !~ /security/ {print $2; exit}' /etc/apt/sources.list
  fi
}

# fresh_root_make ROOT TOOL: `debootstrap --variant=minbase bookworm` into ROOT unless it holds
# one already, then this machine's name resolution; TOOL names the caller in messages. The log
# is ROOT.debootstrap.log.
fresh_root_make() {
  local root=$1 tool=$2 url
  if [[ ! -x $root/bin/bash ]]; then
    url=$(fresh_mirror | head -n1)
    [[ -n $url ]] || { echo "$tool: no Debian mirror in /etc/apt: give the machine one" >&2; return 1; }
    echo "$tool: debootstrap bookworm into $root"
    debootstrap --variant=minbase bookworm "$root" "$url" >"$root.debootstrap.log" 2>&1 || {
      tail -n 20 "$root.debootstrap.log" >&2; return 1; }
  fi
  cp /etc/resolv.conf "$root/etc/resolv.conf"
  cp /etc/hosts "$root/etc/hosts"
}

# fresh_root_run ROOT CMD: CMD (a bash command line) with ROOT as / in a private mount namespace,
# with its own /proc, /tmp and /run and the host's /sys and /dev; mounts vanish with the
# namespace, whatever happens. pivot_root, not chroot: the virtual cluster enters its nodes' mount
# namespaces (nsenter), and entering one resets the root to that namespace's own; under chroot
# that is the host's root, under pivot_root it is the fresh one.
fresh_root_run() {
  local root=$1 cmd=$2
  unshare --mount --propagation private -- bash -c '
    set -e
    root=$1; shift
    # The root a mount point of its own (pivot_root needs that, and so does unshare --mount).
    mount --bind "$root" "$root"
    mount -t proc proc "$root/proc"
    mount --rbind /sys "$root/sys"   # with /sys/fs/cgroup, which slurmd needs
    mount --rbind /dev "$root/dev"
    mount -t tmpfs tmpfs "$root/tmp"
    mount -t tmpfs tmpfs "$root/run"
    mkdir -p "$root/.oldroot"
    cd "$root"
    pivot_root . .oldroot
    exec /usr/bin/env -i HOME=/root PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
      TERM=dumb LANG=C.UTF-8 bash -c "umount -l /.oldroot && $1"
' _ "$root" "$cmd"
}
