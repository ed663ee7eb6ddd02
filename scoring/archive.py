"""Reading untrusted zip uploads: names, member types and sizes checked before any byte is used.

Every member must have a plain relative name (no ``..``, no leading ``/``, no backslash, no
drive letter; at most 255 bytes a part and 1024 in all, as the file system takes them), be a
regular file (symlinks and devices are refused), be unencrypted, and fit the ``ArchiveLimits``.
Sizes are checked from the central directory up front, and the directory is the team's to forge,
so reading is bounded too: ``zipfile`` never returns more than a member's declared size (a member
that holds more then fails its CRC and is refused as corrupt), and ``read_member_limited`` stops
at the caller's limit whatever ``zipfile`` does.

Layout accepted for both results and code zips: files at the top level, or all of them inside
one top-level folder (what zipping a folder produces); that folder is stripped. A results zip may
also keep ``readme.txt`` at the top and its images in one folder (NTIRE's layout). OS junk is
ignored wherever it is: ``__MACOSX/``, ``.DS_Store``, ``Thumbs.db``, ``desktop.ini``, ``._*``.
A results zip then holds only ``<key>.png`` images (see ``scoring.naming``) and an optional
``readme.txt`` (the factsheet, any case); any other file is refused so that a mis-packed
upload fails loudly instead of scoring fewer images.
"""

import os
import re
import stat
import zipfile
import zlib
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from scoring.errors import SubmissionError
from scoring.naming import image_key

MiB = 1024 * 1024
GiB = 1024 * MiB

_JUNK_NAMES = {".ds_store", "thumbs.db", "desktop.ini"}
_DRIVE = re.compile(r"^[A-Za-z]:")
_CHUNK = 1 * MiB
NAME_PART_BYTES = 255
"""The longest file or folder name Linux file systems take (NAME_MAX); a longer one fails to extract."""
NAME_BYTES = 1024
"""The longest member name: a path well within PATH_MAX once it lands under the work folder."""


@dataclass(frozen=True)
class ArchiveLimits:
    """Limits on an uploaded zip; the ratio limit applies only to members above ``ratio_min_bytes``."""

    max_members: int = 1000
    max_member_bytes: int = 64 * MiB
    max_total_bytes: int = 4 * GiB
    max_ratio: float = 200.0
    ratio_min_bytes: int = 1 * MiB
    max_image_pixels: int = 50_000_000


@dataclass
class ResultsZip:
    """An opened results zip: images by key (sorted), the optional readme. Use as a context manager."""

    zip: zipfile.ZipFile
    images: dict[str, zipfile.ZipInfo]
    readme: zipfile.ZipInfo | None

    def __enter__(self) -> "ResultsZip":
        return self

    def __exit__(self, *exc: object) -> None:
        self.zip.close()


def _check_name(name: str) -> None:
    if "\\" in name:
        raise SubmissionError(f"{name!r} in the zip uses backslashes; zip it with forward slashes")
    if name.startswith("/") or _DRIVE.match(name):
        raise SubmissionError(f"{name!r} in the zip is an absolute path")
    parts = name.rstrip("/").split("/")
    if any(part in ("", ".", "..") for part in parts) or any(ord(c) < 32 for c in name):
        raise SubmissionError(f"{name!r} in the zip is not a plain relative path")
    longest = max(parts, key=lambda part: len(part.encode("utf-8", "surrogatepass")))
    if len(longest.encode("utf-8", "surrogatepass")) > NAME_PART_BYTES:
        raise SubmissionError(f"{longest[:40]}... in the zip has a name longer than {NAME_PART_BYTES} bytes")
    if len(name.encode("utf-8", "surrogatepass")) > NAME_BYTES:
        raise SubmissionError(f"{name[:40]}... in the zip has a path longer than {NAME_BYTES} bytes")


def _check_member(info: zipfile.ZipInfo, limits: ArchiveLimits) -> None:
    name = info.filename
    _check_name(name)
    kind = stat.S_IFMT(info.external_attr >> 16)
    if kind == stat.S_IFLNK:
        raise SubmissionError(f"{name} in the zip is a symbolic link; zip the file itself")
    if kind not in (0, stat.S_IFREG, stat.S_IFDIR):
        raise SubmissionError(f"{name} in the zip is not a regular file")
    if info.flag_bits & 0x1:
        raise SubmissionError(f"{name} in the zip is password-protected")
    if info.file_size > limits.max_member_bytes:
        raise SubmissionError(
            f"{name} is {info.file_size:,} bytes uncompressed; the limit is {limits.max_member_bytes:,}"
        )
    ratio = info.file_size / max(info.compress_size, 1)
    if info.file_size > limits.ratio_min_bytes and ratio > limits.max_ratio:
        raise SubmissionError(
            f"{name} compresses more than {limits.max_ratio:g}:1, which looks like a zip bomb"
        )


def _is_junk(name: str) -> bool:
    parts = PurePosixPath(name).parts
    base = parts[-1]
    return "__MACOSX" in parts or base.lower() in _JUNK_NAMES or base.startswith("._")


def _open(path: Path) -> zipfile.ZipFile:
    try:
        return zipfile.ZipFile(path)
    except (zipfile.BadZipFile, zipfile.LargeZipFile, ValueError, EOFError):
        raise SubmissionError("The upload is not a valid zip file") from None


def _files(zf: zipfile.ZipFile, limits: ArchiveLimits) -> dict[str, zipfile.ZipInfo]:
    """Checked, non-junk file members by their name with any single top-level folder removed."""
    infos = zf.infolist()
    if not infos:
        raise SubmissionError("The zip is empty")
    if len(infos) > limits.max_members:
        raise SubmissionError(f"The zip has {len(infos):,} entries; the limit is {limits.max_members:,}")
    seen: set[str] = set()
    total = 0
    for info in infos:
        _check_member(info, limits)
        if info.filename in seen:
            raise SubmissionError(f"{info.filename} appears twice in the zip")
        seen.add(info.filename)
        total += info.file_size
    if total > limits.max_total_bytes:
        raise SubmissionError(
            f"The zip holds {total:,} bytes uncompressed; the limit is {limits.max_total_bytes:,}"
        )

    files = [i for i in infos if not i.is_dir() and not _is_junk(i.filename)]
    tops = {i.filename.split("/", 1)[0] for i in files}
    strip = len(tops) == 1 and all("/" in i.filename for i in files)
    return {i.filename.split("/", 1)[1] if strip else i.filename: i for i in files}


def _lift_images_folder(files: dict[str, zipfile.ZipInfo]) -> dict[str, zipfile.ZipInfo]:
    """NTIRE's layout: ``readme.txt`` at the top and every image in one folder (``results/``);
    that folder is stripped as a lone top-level folder is."""
    top = [name for name in files if "/" not in name]
    folders = {name.split("/", 1)[0] for name in files if "/" in name}
    if len(folders) != 1 or not top or any(name.lower() != "readme.txt" for name in top):
        return files
    return {name.split("/", 1)[-1]: info for name, info in files.items()}


def open_results_zip(path: Path, limits: ArchiveLimits, scale: int) -> ResultsZip:
    """Open and check a results zip: only ``<key>.png`` images, one per key, and ``readme.txt``
    (``<key>x<scale>.png`` names the same key, with the competition's ``scale``). Every member's
    problem is named in one SubmissionError, not only the first."""
    zf = _open(path)
    try:
        images: dict[str, zipfile.ZipInfo] = {}
        readme = None
        problems: list[str] = []
        for name, info in _lift_images_folder(_files(zf, limits)).items():
            if "/" in name:
                problems.append(f"{info.filename} is in a subfolder; put all images at the top level of the zip "
                                "or inside one folder")
            elif name.lower() == "readme.txt":
                if readme is not None:
                    problems.append(f"{readme.filename} and {info.filename} are both readme files")
                readme = info
            elif not name.lower().endswith(".png"):
                problems.append(f"{name} is not a PNG image; a results zip holds only <name>.png images "
                                "and an optional readme.txt")
            else:
                try:
                    key = image_key(name, scale)
                except SubmissionError as err:
                    problems.append(str(err))
                    continue
                if key in images:
                    other = PurePosixPath(images[key].filename).name
                    problems.append(f"{other} and {name} are both results for image {key}")
                images[key] = info
        if problems:
            raise SubmissionError.of_problems(problems)
        if not images:
            raise SubmissionError("The zip holds no PNG images")
        return ResultsZip(zip=zf, images=dict(sorted(images.items())), readme=readme)
    except BaseException:
        zf.close()
        raise


def read_member_limited(zf: zipfile.ZipFile, info: zipfile.ZipInfo, max_bytes: int) -> bytes:
    """A member's bytes, refusing it as soon as decompression passes ``max_bytes``."""
    chunks: list[bytes] = []
    size = 0
    try:
        with zf.open(info) as member:
            while chunk := member.read(min(_CHUNK, max_bytes + 1 - size)):
                size += len(chunk)
                if size > max_bytes:
                    raise SubmissionError(
                        f"{info.filename} is larger than {max_bytes:,} bytes uncompressed"
                    )
                chunks.append(chunk)
    except (zipfile.BadZipFile, zlib.error, EOFError, OSError, NotImplementedError) as err:
        raise SubmissionError(f"{info.filename} in the zip is corrupt or unreadable ({err})") from None
    return b"".join(chunks)


def extract_safely(path: Path, dest_dir: Path, limits: ArchiveLimits) -> list[Path]:
    """Extract a code submission into the empty (or new) ``dest_dir``; returns the relative paths.

    Files are created with ``O_EXCL | O_NOFOLLOW`` and mode 0o644, folders 0o755; no link is
    ever created or followed, and nothing is written outside ``dest_dir``.
    """
    zf = _open(path)
    with zf:
        files = _files(zf, limits)
        if not files:
            raise SubmissionError("The zip holds no files")
        dest_dir.mkdir(parents=True, exist_ok=True)
        if any(dest_dir.iterdir()):
            raise ValueError(f"{dest_dir} is not empty")
        root = dest_dir.resolve()
        written: list[Path] = []
        for name, info in sorted(files.items()):
            target = root / name
            if root not in target.parents:
                raise SubmissionError(f"{info.filename} in the zip would land outside the submission")
            data = read_member_limited(zf, info, limits.max_member_bytes)
            try:
                target.parent.mkdir(mode=0o755, parents=True, exist_ok=True)
                fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o644)
            except (FileExistsError, NotADirectoryError):
                raise SubmissionError(
                    f"{info.filename} clashes with another file of the same name in the zip"
                ) from None
            with os.fdopen(fd, "wb") as out:
                os.fchmod(out.fileno(), 0o644)
                out.write(data)
            written.append(Path(name))
        return written
