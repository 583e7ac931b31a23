# Sourced by integration/go/run-tests and integration/hosts/run: the environment to build Go code
# against lifehook.io/lifehook offline (GOPROXY=off, standard library only), either
#  - against a build tree: LIFEHOOK_INCLUDE_DIR (holds lifehook/lifehook.h) and LIFEHOOK_LIBRARY_DIR
#    (holds liblifehook.so.1) -> a lifehook-uninstalled.pc that pkg-config prefers, the package source of
#    this tree; or
#  - against the installed packages (default): lifehook.pc of liblifehook-dev and the source of
#    golang-lifehook-dev in /usr/share/gocode/src/lifehook.io/lifehook.
# Sets LIFEHOOK_GO_SRC to the package's source directory. Needs GO_WORK_DIR (a scratch directory).
here_go_env=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
export GOCACHE=${GOCACHE:-${HOME:-/tmp}/.cache/go-build} GOPATH=${GOPATH:-$GO_WORK_DIR/gopath}
export GOPROXY=off GOTOOLCHAIN=local GOFLAGS=-mod=mod CGO_ENABLED=1 GO111MODULE=on
if [[ -n ${LIFEHOOK_INCLUDE_DIR:-} ]]; then
  mkdir -p "$GO_WORK_DIR/pkgconfig"
  cat >"$GO_WORK_DIR/pkgconfig/lifehook-uninstalled.pc" <<PC
Name: lifehook
Description: lifehook build tree
Version: 1.1.0
Cflags: -I$LIFEHOOK_INCLUDE_DIR
Libs: -L${LIFEHOOK_LIBRARY_DIR:?} -llifehook
PC
  export PKG_CONFIG_PATH=$GO_WORK_DIR/pkgconfig${PKG_CONFIG_PATH:+:$PKG_CONFIG_PATH}
  export LD_LIBRARY_PATH=$LIFEHOOK_LIBRARY_DIR${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}
  LIFEHOOK_GO_SRC=${LIFEHOOK_GO_SRC:-$here_go_env/lifehook}
else
  LIFEHOOK_GO_SRC=${LIFEHOOK_GO_SRC:-/usr/share/gocode/src/lifehook.io/lifehook}
  # Installed library without golang-lifehook-dev: this tree's package source, on the installed library.
  [[ -d $LIFEHOOK_GO_SRC ]] || LIFEHOOK_GO_SRC=$here_go_env/lifehook
fi
export LIFEHOOK_GO_SRC
