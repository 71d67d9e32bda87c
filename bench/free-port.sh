# shellcheck shell=bash
# Sourced by the bench scripts: free_port START prints the first port from START on that nothing on 127.0.0.1
# listens on (it tries 2,000), or fails saying so.
free_port() {
    local port
    for ((port = $1; port < $1 + 2000; port++)); do
        if ! (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
            printf '%s\n' "$port"
            return 0
        fi
    done
    printf 'free_port: no free port from %s\n' "$1" >&2
    return 1
}
