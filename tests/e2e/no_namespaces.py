"""Run a command on a simulated host that refuses namespaces, as GitHub's ubuntu-24.04
runners do for unprivileged users (AppArmor).

A seccomp filter makes `unshare` and `clone` fail with EPERM whenever they ask for a new
mount, user or network namespace, and `clone3` (whose flags seccomp cannot read) fail with
ENOSYS so that libc falls back to `clone`. The filter is inherited by every child, so run
Pants with `--no-pantsd`. Needs libseccomp's Python bindings (Debian: python3-seccomp).

    /usr/bin/python3 no_namespaces.py ./pants --no-pantsd package ...
"""

import errno
import os
import sys

import seccomp

CLONE_NEWNS, CLONE_NEWUSER, CLONE_NEWNET = 0x00020000, 0x10000000, 0x40000000

refuse = seccomp.SyscallFilter(defaction=seccomp.ALLOW)
for flag in (CLONE_NEWNS, CLONE_NEWUSER, CLONE_NEWNET):
    for call in ("unshare", "clone"):
        refuse.add_rule(seccomp.ERRNO(errno.EPERM), call, seccomp.Arg(0, seccomp.MASKED_EQ, flag, flag))
refuse.add_rule(seccomp.ERRNO(errno.ENOSYS), "clone3")
refuse.load()
os.execvp(sys.argv[1], sys.argv[1:])
