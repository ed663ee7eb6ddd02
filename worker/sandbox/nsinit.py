"""PID 1 of a sandbox: builds the filesystem view, runs one command unprivileged, copies results out.

Started by ``launcher.py`` as ``setpriv --pdeathsig KILL unshare --net --pid --mount --ipc --uts
--fork --kill-child [--user] python -I -S /proc/self/fd/N M``: this script and its JSON config come
in memory files (descriptors N and M), so no host path is in PID 1's command line. It is root (real,
or of a fresh user namespace) inside new namespaces with private mount propagation. Standard
library only, since it runs before anything is in place.

Why each step:
* The view is an allowlist: a fresh tmpfs root holding read-only binds of the system and Python
  directories, ``/sandbox/in`` (a read-only tmpfs holding a copy of the inputs: a bind would show
  the host folder's path in mountinfo) and ``/sandbox/out`` (a tmpfs whose size is the disk limit).
  The HR images, the database and the repository are simply not there.
* The command runs as the sandbox user (or, in a user namespace, as a capability-less root) with
  ``no_new_privs``, an empty capability bounding set, rlimits, a session keyring of its own and
  the seccomp filter compiled by the worker (``syscall_filter.py``), so it can neither leave the
  chroot nor regain privileges, nor reach the worker's keys.
* Being PID 1, this process reaps every orphan and, when the command ends or overruns the wall
  limit, SIGKILLs everything left in the PID namespace; nothing outlives the job.
* Results travel out only through a directory descriptor opened before the chroot, and only
  after every sandboxed process is dead, so nothing can race the copy. Only regular files whose
  names the caller expects are copied, within a file count, a byte total and a time limit;
  overrunning one is the command's doing and is reported as such in the status. The status is
  written beside the results, never among them, so nothing the command leaves can stand in its
  way or take its place.
"""

import ctypes
import errno
import fnmatch
import json
import os
import resource
import shutil
import signal
import stat
import sys
import time

MS_RDONLY, MS_NOSUID, MS_NODEV, MS_NOEXEC = 1, 2, 4, 8
MS_REMOUNT, MS_BIND, MS_REC = 32, 4096, 16384
PR_SET_NO_NEW_PRIVS, PR_CAPBSET_DROP, PR_SET_SECUREBITS, PR_SET_DUMPABLE = 38, 24, 28, 4
PR_SET_SECCOMP, SECCOMP_MODE_FILTER, KEYCTL_JOIN_SESSION_KEYRING = 22, 2, 1
MS_NOATIME, MS_NODIRATIME, MS_RELATIME = 1024, 2048, 1 << 21
SECBIT_NOROOT_LOCKED = 0x3  # uid 0 gains no capabilities at execve, and that cannot be undone
_STATVFS_FLAGS = ((os.ST_NOSUID, MS_NOSUID), (os.ST_NODEV, MS_NODEV), (os.ST_NOEXEC, MS_NOEXEC),
                  (os.ST_NOATIME, MS_NOATIME), (os.ST_NODIRATIME, MS_NODIRATIME),
                  (os.ST_RELATIME, MS_RELATIME))

_libc = ctypes.CDLL(None, use_errno=True)


def _check(result: int, what: str) -> None:
    if result != 0:
        err = ctypes.get_errno()
        raise OSError(err, f"{what}: {os.strerror(err)}")


def mount(source: str, target: str, fstype: str | None, flags: int, data: str | None = None) -> None:
    _check(_libc.mount(source.encode(), target.encode(), fstype.encode() if fstype else None,
                       ctypes.c_ulong(flags), data.encode() if data else None), f"mount {target}")


def bind_readonly(source: str, target: str) -> None:
    """Bind with everything mounted below it, then remount each of them read-only.

    Each keeps its nosuid/nodev/noexec/atime flags: a user namespace may not clear flags the
    host set ("locked" flags).
    """
    mount(source, target, None, MS_BIND | MS_REC)
    with open("/proc/self/mountinfo") as f:
        points = [line.split()[4].encode().decode("unicode_escape") for line in f]
    for point in [target] + [p for p in points if p.startswith(target + "/")]:
        kept = sum(ms for st, ms in _STATVFS_FLAGS if os.statvfs(point).f_flag & st)
        mount("none", point, None, MS_REMOUNT | MS_BIND | MS_RDONLY | kept)


def place(root: str, host_path: str) -> str:
    """Create ``host_path``'s twin under ``root``: a symlink stays a symlink, else an empty dir/file."""
    target = root + host_path
    os.makedirs(os.path.dirname(target), exist_ok=True)
    if os.path.islink(host_path):
        os.symlink(os.readlink(host_path), target)
    elif os.path.isdir(host_path):
        os.makedirs(target, exist_ok=True)
        return target
    else:
        open(target, "a").close()
        return target
    return ""


def build_view(cfg: dict) -> None:
    root, uid, gid = cfg["root"], cfg["uid"], cfg["gid"]
    mount("tmpfs", root, "tmpfs", MS_NOSUID, "size=16m,mode=0755")
    make_scratch(root, uid, gid, cfg["scratch_bytes"])
    paths = [path for path in cfg["ro_binds"] + cfg["devices"] if os.path.lexists(path)]
    fixed = fixed_folders_in_tmp(root, paths)
    targets = {path: place(root, path) for path in paths}
    for folder in fixed:  # the folders leading to the binds are in place: nothing may change them now
        mount("none", folder, None, MS_REMOUNT | MS_BIND | MS_RDONLY | MS_NOSUID | MS_NODEV)
    for path, target in targets.items():
        if target and path in cfg["devices"]:
            mount(path, target, None, MS_BIND)
        elif target:
            bind_readonly(path, target)
    os.makedirs(root + "/proc")
    mount("proc", root + "/proc", "proc", MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC)
    os.makedirs(root + "/sandbox/in")
    copy_inputs(cfg["input_dir"], root + "/sandbox/in")
    os.makedirs(root + "/etc", exist_ok=True)
    with open(root + "/etc/passwd", "w") as f:
        f.write(f"root:x:0:0::/:/bin/false\nsandbox:x:{uid}:{gid}::/sandbox/out:/bin/false\n")
    with open(root + "/etc/group", "w") as f:
        f.write(f"root:x:0:\nsandbox:x:{gid}:\n")
    mount("none", root, None, MS_REMOUNT | MS_RDONLY | MS_NOSUID)


def make_scratch(root: str, uid: int, gid: int, size: int) -> None:
    """``/sandbox/out``, a tmpfs of the disk limit's size, and ``/tmp`` a bind of its ``tmp`` folder.

    Made before the runtime binds: where the Python runtime lives under /tmp (a venv there, as on
    CI), its read-only bind lands inside this writable /tmp, so a model writing to /tmp works on
    every install and its files count against the one disk limit.
    """
    os.makedirs(root + "/sandbox/out")
    mount("tmpfs", root + "/sandbox/out", "tmpfs", MS_NOSUID | MS_NODEV | MS_NOEXEC,
          f"size={size},mode=0700,uid={uid},gid={gid}")
    os.mkdir(root + "/sandbox/out/tmp", 0o700)
    os.chown(root + "/sandbox/out/tmp", uid, gid)
    os.mkdir(root + "/tmp")
    mount(root + "/sandbox/out/tmp", root + "/tmp", None, MS_BIND)


def fixed_folders_in_tmp(root: str, paths: list[str]) -> list[str]:
    """A small tmpfs at ``/tmp/<name>`` for each bind that lies under /tmp (a runtime in a venv
    there): a mountpoint cannot be renamed, so the command cannot move the runtime's folders aside
    in its writable /tmp and put its own files at the runtime's path. Made read-only by the caller
    once the folders inside are made."""
    tops = sorted({"/tmp/" + path.split("/")[2] for path in paths if path.startswith("/tmp/")})
    for top in tops:
        os.makedirs(root + top)
        mount("tmpfs", root + top, "tmpfs", MS_NOSUID | MS_NODEV | MS_NOEXEC, "size=1m,mode=0755")
    return [root + top for top in tops]


def copy_inputs(input_dir: str, target: str) -> None:
    """A read-only tmpfs holding a copy of ``input_dir`` (the worker's own copies: no links).

    noexec on the team's files (and the scratch space): no native code of the team's can be mapped.
    """
    size = sum(os.lstat(os.path.join(folder, name)).st_size + 4096
               for folder, dirs, files in os.walk(input_dir) for name in dirs + files)
    mount("tmpfs", target, "tmpfs", MS_NOSUID | MS_NODEV | MS_NOEXEC, f"size={size + (1 << 20)},mode=0755")
    shutil.copytree(input_dir, target, dirs_exist_ok=True)
    os.chmod(target, 0o755)
    mount("none", target, None, MS_REMOUNT | MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC)


class _SockFprog(ctypes.Structure):
    _fields_ = [("len", ctypes.c_ushort), ("filter", ctypes.c_char_p)]


def load_seccomp(program: bytes) -> None:
    """Hand the worker's compiled BPF program (8-byte ``sock_filter`` entries) to the kernel."""
    fprog = _SockFprog(len(program) // 8, program)
    _check(_libc.prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, ctypes.byref(fprog), 0, 0), "seccomp")


def drop_privileges_and_exec(cfg: dict) -> None:
    """In the forked child: limits, then no way back to privilege, then the command."""
    if cfg["cgroup_procs"]:
        with open("/proc/self/oom_score_adj", "w") as f:  # back to the default the parent left
            f.write("0")
    for name, value in cfg["rlimits"].items():
        soft, hard = value if isinstance(value, list) else (value, value)
        ceiling = resource.getrlimit(getattr(resource, name))[1]  # only root may raise a hard limit
        if ceiling != resource.RLIM_INFINITY:
            soft, hard = min(soft, ceiling), min(hard, ceiling)
        resource.setrlimit(getattr(resource, name), (soft, hard))
    _check(_libc.prctl(PR_SET_SECUREBITS, SECBIT_NOROOT_LOCKED, 0, 0, 0), "securebits")
    for cap in range(64):
        if _libc.prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) != 0:
            break
    if not cfg["user_namespace"]:  # there, "root" is already the worker's own uid, and setgroups is denied
        os.setgroups([])
        os.setresgid(cfg["gid"], cfg["gid"], cfg["gid"])
        os.setresuid(cfg["uid"], cfg["uid"], cfg["uid"])
    # a new anonymous session keyring: the worker's keys are not "possessed" here, and what the
    # command might add dies with it (the filter below then denies keyring calls altogether).
    # EPERM/ENOSYS: keyrings are closed to this process already (Docker's seccomp profile does that).
    if (_libc.syscall(cfg["keyctl_number"], KEYCTL_JOIN_SESSION_KEYRING, None) < 0
            and ctypes.get_errno() not in (errno.EPERM, errno.ENOSYS)):
        _check(-1, "join a session keyring")
    _check(_libc.prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0), "no_new_privs")
    load_seccomp(bytes.fromhex(cfg["seccomp_bpf"]))
    fd = os.open("/dev/null", os.O_RDONLY)
    os.dup2(fd, 0)
    os.execve(cfg["argv"][0], cfg["argv"], cfg["env"])


def supervise(child: int, wall_seconds: float) -> dict:
    """Reap everything; return how the command ended. Kill the rest when it ends or overruns."""
    started, status, timed_out = time.monotonic(), None, False
    while status is None:
        pid, wstatus = os.waitpid(-1, os.WNOHANG)
        if pid == child:
            status = wstatus
        elif pid == 0:
            if time.monotonic() - started > wall_seconds:
                timed_out = True
                os.kill(child, signal.SIGKILL)
            time.sleep(0.02)
    wall = time.monotonic() - started
    try:
        os.kill(-1, signal.SIGKILL)  # from PID 1: every other process in this PID namespace
    except ProcessLookupError:
        pass
    while True:
        try:
            os.wait()
        except ChildProcessError:
            break
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return {
        "exit_code": os.WEXITSTATUS(status) if os.WIFEXITED(status) else None,
        "signal": os.WTERMSIG(status) if os.WIFSIGNALED(status) else None,
        "timed_out": timed_out,
        "wall_seconds": wall,
        "cpu_seconds": usage.ru_utime + usage.ru_stime,
        "max_rss_bytes": usage.ru_maxrss * 1024,
    }


class OutputRefused(Exception):
    """The command's outputs overran a copy-out limit: its own doing, reported in the status."""


def copy_out(src_dir: str, dest_fd: int, patterns: list[str], limits: dict) -> None:
    """Copy the expected regular files (``patterns``: ``name`` or ``folder/name`` globs) to the
    host result directory; anything else the command left (links, devices, folders where a file
    is expected, other names) stays behind. Raises ``OutputRefused`` past ``limits``."""
    budget = {"files": limits["files"], "bytes": limits["bytes"],
              "deadline": time.monotonic() + limits["seconds"]}
    folders = {p.split("/")[0] for p in patterns if "/" in p}
    with os.scandir(src_dir) as entries:
        for entry in entries:
            _tick(budget, limits)
            if entry.name in folders and entry.is_dir(follow_symlinks=False):
                names = [p.split("/", 1)[1] for p in patterns if p.startswith(entry.name + "/")]
                os.mkdir(entry.name, 0o700, dir_fd=dest_fd)
                sub_fd = os.open(entry.name, os.O_RDONLY | os.O_DIRECTORY, dir_fd=dest_fd)
                try:
                    with os.scandir(entry.path) as sub_entries:
                        for sub in sub_entries:
                            _tick(budget, limits)
                            _copy_if_wanted(sub, names, sub_fd, budget, limits)
                finally:
                    os.close(sub_fd)
            else:
                _copy_if_wanted(entry, [p for p in patterns if "/" not in p], dest_fd, budget, limits)


def _tick(budget: dict, limits: dict) -> None:
    if time.monotonic() > budget["deadline"]:
        raise OutputRefused(f"copying its outputs took longer than {limits['seconds']:g} s "
                            "(too many files left in /sandbox/out?)")


def _copy_if_wanted(entry: os.DirEntry, names: list[str], dest_fd: int, budget: dict, limits: dict) -> None:
    if not entry.is_file(follow_symlinks=False) or not any(fnmatch.fnmatchcase(entry.name, n) for n in names):
        return
    budget["files"] -= 1
    if budget["files"] < 0:
        raise OutputRefused(f"it left more than {limits['files']} output files")
    src = os.open(entry.path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
    try:
        if not stat.S_ISREG(os.fstat(src).st_mode):
            return
        dst = os.open(entry.name, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600, dir_fd=dest_fd)
        try:
            while chunk := os.read(src, 1 << 20):
                budget["bytes"] -= len(chunk)
                if budget["bytes"] < 0:
                    raise OutputRefused(f"its outputs are larger than {limits['bytes'] >> 20} MiB in all")
                _tick(budget, limits)
                os.write(dst, chunk)
        finally:
            os.close(dst)
    finally:
        os.close(src)


def main() -> None:
    _check(_libc.prctl(PR_SET_DUMPABLE, 0, 0, 0, 0), "dumpable")  # no /proc/1/fd, environ, ptrace
    with os.fdopen(int(sys.argv[1])) as f:
        cfg = json.load(f)
    os.close(int(sys.argv[0].rsplit("/", 1)[1]))  # this script's memory file
    if cfg["cgroup_procs"]:  # the job's memory cgroup, before anything is charged to memory
        with open(cfg["cgroup_procs"], "w") as f:
            f.write("0")
        with open("/proc/self/oom_score_adj", "w") as f:  # the kernel picks its victim among the job's
            f.write("-1000")                             # processes, never this supervisor
    build_view(cfg)
    result_fd = os.open(cfg["result_dir"], os.O_RDONLY | os.O_DIRECTORY)
    status_fd = os.open(cfg["status_path"], os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    os.chroot(cfg["root"])
    os.chdir("/sandbox/out")
    sys.stdout.flush()
    error_r, error_w = os.pipe()  # both close-on-exec: EOF alone means the command was started
    child = os.fork()
    if child == 0:
        try:
            os.close(error_r)
            drop_privileges_and_exec(cfg)
        except BaseException as exc:  # noqa: BLE001 - reported to the parent, then _exit(127) below
            os.write(error_w, f"cannot start the command: {exc!r}".encode()[:4000])
        finally:
            os._exit(127)
    os.close(error_w)
    start_error = os.read(error_r, 4096).decode(errors="replace")
    os.close(error_r)
    status = supervise(child, cfg["wall_seconds"])
    status["start_error"] = start_error or None
    try:
        copy_out("/sandbox/out", result_fd, cfg["outputs"], cfg["output_limits"])
        status["output_error"] = None
    except OutputRefused as exc:
        status["output_error"] = str(exc)
    os.write(status_fd, json.dumps(status).encode())
    os.close(status_fd)


if __name__ == "__main__":
    main()
