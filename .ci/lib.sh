# Shared by the .ci scripts (sourced, not run).

# install_packages PKG...: installs Debian packages with apt-get (through sudo when not root), or
# says exactly what to install on a system without apt-get; nothing when given none.
install_packages() {
  (($#)) || return 0
  if ! command -v apt-get >/dev/null 2>&1; then
    echo "etcdeck needs these packages (Debian names): $*; install them and run again" >&2
    exit 1
  fi
  local sudo=""
  if [ "$(id -u)" -ne 0 ]; then
    if command -v sudo >/dev/null 2>&1; then sudo="sudo"; else
      echo "etcdeck needs: $*; run as root: apt-get install -y $*" >&2
      exit 1
    fi
  fi
  echo "installing: $*" >&2
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "$@" >&2
}
