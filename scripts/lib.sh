# Shell functions the scripts share (sourced, never run). The sourcing script defines
# `log` and `die` (each with its own prefix) and HOST.

# True when something accepts TCP connections on $HOST:$1.
port_open() {
    timeout 2 bash -c "exec 3<>/dev/tcp/${HOST}/$1" 2>/dev/null
}

# Installs the Debian package $1 (as root, with apt-get), or says how to.
apt_install() {
    command -v apt-get >/dev/null 2>&1 || die "$1 is not installed and there is no apt-get to install it"
    [[ "$(id -u)" == 0 ]] || die "$1 is not installed; run as root or: sudo apt-get install -y $1"
    log "installing $1 (apt-get)"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq --no-install-recommends "$1" >/dev/null
}
