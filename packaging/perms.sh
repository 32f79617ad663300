# perms.sh: the owners and modes of a quptime data directory, shared by
# install.sh (which sources it) and the .deb's postinst (packaging/deb/build
# copies it in), so both repair a data directory by the same rule:
# everything under it is private, because raft/ and raft/log/log.dat hold
# alert secrets just as node.yaml and keys/private.pem hold the node's:
#   every directory (DIR itself included)   0700
#   every file                               0600
# Symbolic links are never followed and never changed, only warned about (a
# link must never make root change the mode of a file elsewhere). POSIX sh.

# quptime_repair_perms DIR OWNER: OWNER (user:group) on the whole tree unless
# it is empty, then the modes above.
quptime_repair_perms() {
    if [ -n "$2" ]; then
        # -R without -L never follows links; -h changes a link itself.
        chown -R -h "$2" "$1"
    fi
    # find without -L never follows links, and -type d / -type f never
    # match one, so chmod only ever sees directories and files under DIR.
    find "$1" -type d -exec chmod 0700 {} +
    find "$1" -type f -exec chmod 0600 {} +
    find "$1" -type l -exec sh -c 'for l; do printf "> warning: %s is a symbolic link: left alone\n" "$l"; done' sh {} +
    return 0
}
