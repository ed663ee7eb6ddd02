import stat
import struct
import zipfile

import pytest

from scoring.archive import ArchiveLimits, MiB, extract_safely, open_results_zip, read_member_limited
from scoring.errors import SubmissionError
from tests.scoring.pngs import write_zip

LIMITS = ArchiveLimits()
PNG = b"\x89PNG fake bytes: archive checks never decode"


def open_zip(path, limits=LIMITS):
    return open_results_zip(path, limits, 4)


def rejected(path, limits=LIMITS) -> str:
    with pytest.raises(SubmissionError) as err:
        open_zip(path, limits).zip.close()
    return str(err.value)


def member(name: str, mode: int = stat.S_IFREG | 0o644) -> zipfile.ZipInfo:
    info = zipfile.ZipInfo(name)
    info.external_attr = mode << 16
    return info


def test_images_by_key_and_readme(tmp_path):
    path = write_zip(tmp_path / "r.zip", [("0802x4.png", PNG), ("0801.png", PNG), ("readme.txt", b"hi")])
    with open_zip(path) as results:
        assert list(results.images) == ["0801", "0802"]
        assert results.images["0802"].filename == "0802x4.png"
        assert results.readme.filename == "readme.txt"
        assert read_member_limited(results.zip, results.images["0801"], 1000) == PNG


def test_not_a_zip(tmp_path):
    path = tmp_path / "r.zip"
    path.write_bytes(b"this is a PNG, honest")
    assert rejected(path) == "The upload is not a valid zip file"


def test_empty_zip(tmp_path):
    assert rejected(write_zip(tmp_path / "r.zip", [])) == "The zip is empty"
    assert rejected(write_zip(tmp_path / "j.zip", [(".DS_Store", b"")])) == "The zip holds no PNG images"


@pytest.mark.parametrize(
    ("name", "reason"),
    [
        ("../0801.png", "not a plain relative path"),
        ("results/../../0801.png", "not a plain relative path"),
        ("./0801.png", "not a plain relative path"),
        ("/etc/0801.png", "is an absolute path"),
        ("C:/0801.png", "is an absolute path"),
        ("results\\0801.png", "uses backslashes"),
        ("__MACOSX/../../0801.png", "not a plain relative path"),
    ],
)
def test_unsafe_member_names(tmp_path, name, reason):
    path = write_zip(tmp_path / "r.zip", [("0802.png", PNG), (member(name), PNG)])
    assert reason in rejected(path)


def test_symlink_member(tmp_path):
    link = member("0801.png", stat.S_IFLNK | 0o777)
    path = write_zip(tmp_path / "r.zip", [(link, b"/hidden/hr/0801.png")])
    assert rejected(path) == "0801.png in the zip is a symbolic link; zip the file itself"


def test_device_member(tmp_path):
    path = write_zip(tmp_path / "r.zip", [(member("0801.png", stat.S_IFCHR | 0o644), b"")])
    assert "not a regular file" in rejected(path)


def test_encrypted_member(tmp_path):
    # zipfile cannot write encrypted members, so set the "encrypted" flag bit in both headers.
    path = write_zip(tmp_path / "r.zip", [("0801.png", PNG)])
    data = bytearray(path.read_bytes())
    data[data.find(b"PK\x03\x04") + 6] |= 0x1
    data[data.find(b"PK\x01\x02") + 8] |= 0x1
    path.write_bytes(bytes(data))
    assert rejected(path) == "0801.png in the zip is password-protected"


def test_zip_bomb_by_ratio(tmp_path):
    path = write_zip(tmp_path / "r.zip", [("0801.png", bytes(2 * MiB))])
    assert "compresses more than 200:1" in rejected(path)


def test_small_members_may_compress_well(tmp_path):
    path = write_zip(tmp_path / "r.zip", [("0801.png", bytes(MiB // 2))])
    with open_zip(path) as results:
        assert list(results.images) == ["0801"]


def test_zip_bomb_by_total_size(tmp_path):
    limits = ArchiveLimits(max_total_bytes=10_000)
    path = write_zip(tmp_path / "r.zip", [(f"08{i:02}.png", bytes(3000)) for i in range(4)])
    assert rejected(path, limits) == "The zip holds 12,000 bytes uncompressed; the limit is 10,000"


def test_member_too_large(tmp_path):
    limits = ArchiveLimits(max_member_bytes=1000)
    path = write_zip(tmp_path / "r.zip", [("0801.png", bytes(1001))])
    assert rejected(path, limits) == "0801.png is 1,001 bytes uncompressed; the limit is 1,000"


def test_too_many_members(tmp_path):
    path = write_zip(tmp_path / "r.zip", [(f"08{i:02}.png", PNG) for i in range(6)])
    assert "6 entries; the limit is 5" in rejected(path, ArchiveLimits(max_members=5))


def test_reading_stops_at_the_limit(tmp_path):
    path = write_zip(tmp_path / "r.zip", [("0801.png", bytes(5000))])
    with zipfile.ZipFile(path) as zf:
        with pytest.raises(SubmissionError, match="0801.png is larger than 4,999 bytes"):
            read_member_limited(zf, zf.getinfo("0801.png"), 4999)
        assert len(read_member_limited(zf, zf.getinfo("0801.png"), 5000)) == 5000


def test_lying_central_directory_is_caught_while_reading(tmp_path):
    # Claim 100 bytes in both headers while the deflated data holds 1 MiB.
    path = write_zip(tmp_path / "r.zip", [("0801.png", bytes(MiB))])
    data = bytearray(path.read_bytes())
    local = data.find(b"PK\x03\x04")
    central = data.find(b"PK\x01\x02")
    struct.pack_into("<I", data, local + 22, 100)
    struct.pack_into("<I", data, central + 24, 100)
    path.write_bytes(bytes(data))
    with open_zip(path) as results:
        info = results.images["0801"]
        assert info.file_size == 100
        with pytest.raises(SubmissionError, match="0801.png in the zip is corrupt"):
            read_member_limited(results.zip, info, LIMITS.max_member_bytes)


def test_duplicate_names(tmp_path):
    with pytest.warns(UserWarning, match="Duplicate name"):
        path = write_zip(tmp_path / "r.zip", [("0801.png", PNG), ("0801.png", PNG)])
    assert rejected(path) == "0801.png appears twice in the zip"


def test_duplicate_image_keys(tmp_path):
    path = write_zip(tmp_path / "r.zip", [("0801.png", PNG), ("0801x4.png", PNG)])
    assert rejected(path) == "0801.png and 0801x4.png are both results for image 0801"


def test_unexpected_extra_file(tmp_path):
    path = write_zip(tmp_path / "r.zip", [("0801.png", PNG), ("notes.docx", b"")])
    assert rejected(path).startswith("notes.docx is not a PNG image")
    path = write_zip(tmp_path / "s.zip", [("0801.png", PNG), ("0802 final.png", PNG)])
    assert "'0802 final.png' is not an image name" in rejected(path)


def test_two_readmes(tmp_path):
    path = write_zip(tmp_path / "r.zip", [("0801.png", PNG), ("readme.txt", b""), ("README.TXT", b"")])
    assert "both readme files" in rejected(path)


def test_os_junk_and_directories_are_ignored(tmp_path):
    junk = ["__MACOSX/._0801.png", "__MACOSX/results/._0801.png", ".DS_Store", "Thumbs.db", "._0801.png"]
    members = [("0801.png", PNG), ("README.txt", b"x"), ("empty/", b"")] + [(j, b"") for j in junk]
    path = write_zip(tmp_path / "r.zip", members)
    with open_zip(path) as results:
        assert list(results.images) == ["0801"]
        assert results.readme.filename == "README.txt"


def test_one_top_level_folder_is_stripped(tmp_path):
    names = [
        "results/", "results/0801.png", "results/0802x4.png", "results/readme.txt", "__MACOSX/results/._0801.png",
    ]
    path = write_zip(tmp_path / "r.zip", [(n, b"" if n.endswith("/") else PNG) for n in names])
    with open_zip(path) as results:
        assert list(results.images) == ["0801", "0802"]
        assert results.images["0801"].filename == "results/0801.png"
        assert results.readme is not None


@pytest.mark.parametrize(
    "names",
    [["0801.png", "results/0802.png"], ["a/0801.png", "b/0802.png"], ["results/x/0801.png"]],
)
def test_other_folder_layouts_are_refused(tmp_path, names):
    path = write_zip(tmp_path / "r.zip", [(n, PNG) for n in names])
    assert "is in a subfolder" in rejected(path)


def test_ntire_layout_readme_at_the_top_images_in_one_folder(tmp_path):
    names = ["readme.txt", "results/", "results/0801x4.png", "results/0802x4.png"]
    path = write_zip(tmp_path / "r.zip", [(n, b"" if n.endswith("/") else PNG) for n in names])
    with open_zip(path) as results:
        assert list(results.images) == ["0801", "0802"]
        assert results.readme.filename == "readme.txt"


@pytest.mark.parametrize("names", [["readme.txt", "a/0801.png", "b/0802.png"],
                                   ["readme.txt", "notes.txt", "results/0801.png"]])
def test_readme_beside_more_than_one_folder_or_file_is_refused(tmp_path, names):
    assert "is in a subfolder" in rejected(write_zip(tmp_path / "r.zip", [(n, PNG) for n in names]))


def test_every_problem_of_the_zip_is_named_at_once(tmp_path):
    names = ["0801.png", "0801x4.png", "notes.docx", "0803 copy.png", "x/0804.png"]
    message = rejected(write_zip(tmp_path / "r.zip", [(n, PNG) for n in names]))
    assert message.startswith("4 problems in the zip: ")
    for part in ["0801.png and 0801x4.png are both results for image 0801", "notes.docx is not a PNG image",
                 "'0803 copy.png' is not an image name", "x/0804.png is in a subfolder"]:
        assert part in message


def test_a_long_list_of_problems_is_cut_with_a_count(tmp_path):
    message = rejected(write_zip(tmp_path / "r.zip", [(f"n{i}.txt", b"") for i in range(13)]))
    assert message.startswith("13 problems in the zip: ") and message.endswith("; and 3 more")


def test_extract_safely_writes_plain_files_only(tmp_path):
    members = [
        ("mysub/", b""),
        ("mysub/model.py", b"import torch\n"),
        ("mysub/weights/model.pth", b"\x00" * 10),
        ("mysub/submission.yaml", b"name: x\n"),
        (member("mysub/run.sh", stat.S_IFREG | 0o4755), b"#!/bin/sh\n"),
        ("__MACOSX/mysub/._model.py", b""),
    ]
    dest = tmp_path / "out"
    written = extract_safely(write_zip(tmp_path / "c.zip", members), dest, LIMITS)
    assert sorted(map(str, written)) == ["model.py", "run.sh", "submission.yaml", "weights/model.pth"]
    assert (dest / "weights" / "model.pth").read_bytes() == b"\x00" * 10
    for rel in written:
        assert stat.S_IMODE((dest / rel).lstat().st_mode) == 0o644
    assert not (dest / "__MACOSX").exists()


@pytest.mark.parametrize(
    "bad", [member("../evil.py"), member("/tmp/evil.py"), member("evil.py", stat.S_IFLNK | 0o777)]
)
def test_extract_safely_refuses_unsafe_members_before_writing(tmp_path, bad):
    dest = tmp_path / "out"
    with pytest.raises(SubmissionError):
        path = write_zip(tmp_path / "c.zip", [("model.py", b"x"), (bad, b"/etc/passwd")])
        extract_safely(path, dest, LIMITS)
    assert not (tmp_path / "evil.py").exists()
    assert not dest.exists()


def test_extract_safely_applies_the_limits(tmp_path):
    path = write_zip(tmp_path / "c.zip", [(f"part{i}.bin", bytes(400)) for i in range(3)])
    assert len(extract_safely(path, tmp_path / "ok", ArchiveLimits(max_total_bytes=1200))) == 3
    with pytest.raises(SubmissionError, match="1,200 bytes uncompressed; the limit is 1,199"):
        extract_safely(path, tmp_path / "no", ArchiveLimits(max_total_bytes=1199))
    assert not (tmp_path / "no").exists()


def test_extract_safely_needs_files(tmp_path):
    path = write_zip(tmp_path / "c.zip", [("mysub/", b""), ("__MACOSX/._x", b"")])
    with pytest.raises(SubmissionError, match="holds no files"):
        extract_safely(path, tmp_path / "out", LIMITS)


def test_extract_safely_file_and_folder_clash(tmp_path):
    path = write_zip(tmp_path / "c.zip", [("model", b"x"), ("model/x.py", b"y")])
    with pytest.raises(SubmissionError, match="clashes"):
        extract_safely(path, tmp_path / "out", LIMITS)


def test_extract_safely_needs_an_empty_destination(tmp_path):
    dest = tmp_path / "out"
    dest.mkdir()
    (dest / "left-over").write_text("")
    with pytest.raises(ValueError, match="not empty"):
        extract_safely(write_zip(tmp_path / "c.zip", [("model.py", b"x")]), dest, LIMITS)


@pytest.mark.parametrize(("name", "reason"), [
    ("a" * 253 + ".py", "a name longer than 255 bytes"),
    ("é" * 127 + ".py", "a name longer than 255 bytes"),  # 2 bytes a character on disk
    ("/".join(["d" * 200] * 5) + "/" + "m" * 17 + ".py", "a path longer than 1024 bytes"),
], ids=["256 bytes", "257 bytes in UTF-8", "1,025 bytes"])
def test_extract_safely_refuses_names_the_file_system_cannot_take(tmp_path, name, reason):
    """Refused with a reason before anything is written; extracting them raised OSError (ENAMETOOLONG),
    which the worker took for its own failure."""
    path = write_zip(tmp_path / "c.zip", [("model.py", b"x"), (name, b"y")])
    with pytest.raises(SubmissionError, match=reason):
        extract_safely(path, tmp_path / "out", LIMITS)
    assert not (tmp_path / "out").exists()


def test_extract_safely_takes_the_longest_names_it_allows(tmp_path):
    name = "/".join(["d" * 255] * 3 + ["e" * 127, "m" * 125 + ".py"])
    assert len(name) == 1024
    path = write_zip(tmp_path / "c.zip", [("model.py", b"x"), (name, b"y")])
    extract_safely(path, tmp_path / "out", LIMITS)
    assert (tmp_path / "out" / name).read_bytes() == b"y"
