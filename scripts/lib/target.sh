# Where a command of the launcher will find the service (sourced, not run).

# Sets user_name to the name Java gives as user.name, which the default socket's path holds: the
# password database's name for this uid, not $USER, which may be unset (cron, containers) or name
# another user (su). /etc/passwd is read with builtins, and `id` (a fork) runs only for a user it
# lacks (one from LDAP, say).
offload_user_name() {
  local name uid
  if [ -r /etc/passwd ]; then
    while IFS=: read -r name _ uid _; do
      if [ "$uid" = "$UID" ]; then
        user_name=$name
        return
      fi
    done </etc/passwd
  fi
  user_name=$(id -un 2>/dev/null) || user_name='?' # Java's name for a uid with none
}

# Whether a service's Unix socket is at the target a `run` with these arguments talks to: --server,
# else $OFFLOAD_SERVER, else ServerTarget's default; true for a TCP target. Shell builtins only,
# but for an unusual user (see offload_user_name).
offload_service_socket_there() { # run's arguments
  local target=${OFFLOAD_SERVER:-} arg next_is_target=false user_name
  for arg in "$@"; do
    if $next_is_target; then
      target=$arg next_is_target=false
    elif [ "$arg" = --server ]; then
      next_is_target=true
    elif [[ $arg == --server=* ]]; then
      target=${arg#--server=}
    fi
  done
  if [ -z "$target" ]; then
    offload_user_name
    target="unix:${XDG_RUNTIME_DIR:-/tmp}/offload-$user_name/offload.sock"
  fi
  case $target in
    unix:*) [ -S "${target#unix:}" ] ;;
    *) true ;;
  esac
}
