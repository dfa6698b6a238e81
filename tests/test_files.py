"""Files vaetools writes: whole or not at all, never over a file the user kept."""

import os
import stat

import pytest

from vaetools._files import write_atomically
from vaetools.compress import container


def _mode(path):
    return stat.S_IMODE(os.stat(path).st_mode)


def test_new_file_gets_the_permissions_of_a_plain_open(tmp_path):
    old = os.umask(0o022)
    try:
        write_atomically(tmp_path / "out.bin", lambda tmp: tmp.write_bytes(b"data"))
        (tmp_path / "plain.bin").write_bytes(b"data")
        container.write(tmp_path / "table.vtz", {"format": "test"}, b"", [])
    finally:
        os.umask(old)
    assert (tmp_path / "out.bin").read_bytes() == b"data"
    assert _mode(tmp_path / "out.bin") == _mode(tmp_path / "plain.bin") == 0o644
    assert _mode(tmp_path / "table.vtz") == 0o644  # was 0o600, the temporary file's


def test_a_file_that_appears_while_writing_is_kept(tmp_path):
    dest = tmp_path / "out.bin"

    def slow_write(tmp):  # someone else creates the destination meanwhile
        dest.write_bytes(b"theirs")
        tmp.write_bytes(b"ours")

    with pytest.raises(FileExistsError, match="overwrite"):
        write_atomically(dest, slow_write)
    assert dest.read_bytes() == b"theirs"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out.bin"]  # no temporary left behind


def test_failed_write_leaves_the_destination_and_no_temporary(tmp_path):
    dest = tmp_path / "out.bin"
    dest.write_bytes(b"before")

    def broken(tmp):
        tmp.write_bytes(b"half")
        raise OSError("disk full")

    with pytest.raises(OSError, match="disk full"):
        write_atomically(dest, broken, overwrite=True)
    assert dest.read_bytes() == b"before"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out.bin"]
    with pytest.raises(FileExistsError):
        write_atomically(dest, lambda tmp: tmp.write_bytes(b"new"))
    write_atomically(dest, lambda tmp: tmp.write_bytes(b"new"), overwrite=True)
    assert dest.read_bytes() == b"new"
