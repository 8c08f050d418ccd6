# Sourced by scripts/test.sh and bench/run.sh: install Debian packages when something is missing.
# The caller defines log() and die().

as_root() {
  if [ "$(id -u)" -eq 0 ]; then
    "$@"
  elif command -v sudo >/dev/null 2>&1; then
    sudo "$@"
  else
    die "need root to run '$*' (not root, no sudo). Install it yourself, then re-run."
  fi
}

apt_updated=no
apt_install() {
  command -v apt-get >/dev/null 2>&1 || die "apt-get not found: install the package(s) '$*' with your package manager, then re-run."
  if [ "$apt_updated" = no ]; then
    # Required on a fresh machine: without package lists apt-get does not even find `notary`.
    log "apt-get update"
    as_root apt-get update -qq
    apt_updated=yes
  fi
  log "apt-get install -y $*"
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@"
}
