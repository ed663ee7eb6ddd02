"""The seccomp filter of both sandbox stages, compiled on the worker side with libseccomp.

libseccomp (through ``pyseccomp``, a ctypes binding that keeps libseccomp's own Python API and
installs in a virtualenv, unlike Debian's ``python3-seccomp``) resolves syscall numbers and
writes the BPF program, architecture checks included; ``nsinit`` only hands that program to the
kernel (``prctl(PR_SET_SECCOMP)``), so it stays standard-library only.

A deny list, not an allow list: PyTorch, NumPy and the team's Python need a wide and changing
set of syscalls (threads, memory mapping, futexes, CUDA's ioctls), and a missed one fails a
team's honest model. What is denied is what Docker's default profile denies to a container
without capabilities (kernel modules, mounts, namespaces, ptrace and cross-process memory,
keyrings, BPF, perf, time, reboot, io_uring, userfaultfd, handles to files outside the view):
kernel surface the model has no use for. A denied call fails with EPERM, not a kill, so a
library that probes one goes on.
"""

import errno
import tempfile

CLONE_NAMESPACE_FLAGS = (0x00020000, 0x02000000, 0x04000000, 0x08000000, 0x10000000, 0x20000000, 0x40000000)
"""CLONE_NEWNS, NEWCGROUP, NEWUTS, NEWIPC, NEWUSER, NEWPID, NEWNET: ``clone`` may not make namespaces."""
DENIED = [
    "acct", "add_key", "bpf", "chroot", "clock_adjtime", "clock_settime", "create_module", "delete_module",
    "fanotify_init", "finit_module", "fsconfig", "fsmount", "fsopen", "fspick", "get_kernel_syms", "init_module",
    "io_uring_enter", "io_uring_register", "io_uring_setup", "ioperm", "iopl", "kcmp", "kexec_file_load",
    "kexec_load", "keyctl", "lookup_dcookie", "mount", "mount_setattr", "move_mount", "name_to_handle_at",
    "nfsservctl", "open_by_handle_at", "open_tree", "perf_event_open", "pivot_root", "process_vm_readv",
    "process_vm_writev", "ptrace", "query_module", "quotactl", "quotactl_fd", "reboot", "request_key", "setns",
    "settimeofday", "swapoff", "swapon", "sysfs", "syslog", "umount2", "unshare", "uselib", "userfaultfd",
    "ustat", "vhangup",
]


def compile_filter() -> bytes:
    """The BPF program (``struct sock_filter`` array) for this machine's architecture."""
    import pyseccomp as seccomp  # imported here: the API process never needs it

    rules = seccomp.SyscallFilter(defaction=seccomp.ALLOW)
    for name in DENIED:
        try:
            rules.add_rule(seccomp.ERRNO(errno.EPERM), name)
        except OSError:  # not a syscall on this architecture (libseccomp cannot resolve it)
            continue
    for flag in CLONE_NAMESPACE_FLAGS:
        rules.add_rule(seccomp.ERRNO(errno.EPERM), "clone", seccomp.Arg(0, seccomp.MASKED_EQ, flag, flag))
    # clone3 passes its flags in memory a filter cannot read: ENOSYS makes glibc fall back to clone
    rules.add_rule(seccomp.ERRNO(errno.ENOSYS), "clone3")
    with tempfile.TemporaryFile() as f:
        rules.export_bpf(f)
        f.seek(0)
        return f.read()


def keyctl_number() -> int:
    """The ``keyctl`` syscall number of this machine (nsinit joins a fresh session keyring with it)."""
    import pyseccomp as seccomp

    return seccomp.resolve_syscall(seccomp.system_arch(), "keyctl")
