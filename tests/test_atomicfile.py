"""Atomic replacement: the old file survives a failure or a crash before the replace; after it,
the new content is there whole; no temporary file is left behind on a handled failure."""

import json
import os
import subprocess
import sys
import textwrap

import pytest

from autobot_monitor import atomicfile


def listing(d):
    return sorted(os.listdir(d))


def test_text_bytes_json_replace_whole_content(tmp_path):
    p = tmp_path / "state.json"
    p.write_text("old")
    atomicfile.write_text(p, "new text é")
    assert p.read_text(encoding="utf-8") == "new text é"
    atomicfile.write_bytes(p, b"\x00\x01")
    assert p.read_bytes() == b"\x00\x01"
    atomicfile.write_json(p, {"a": [1, 2]}, separators=(",", ":"))
    assert p.read_text() == '{"a":[1,2]}'
    assert listing(tmp_path) == ["state.json"]


def test_new_file_has_the_mode_a_plain_open_gives(tmp_path):
    plain = tmp_path / "plain"
    plain.write_text("x")
    atomicfile.write_text(tmp_path / "atomic", "x")
    assert os.stat(tmp_path / "atomic").st_mode == os.stat(plain).st_mode


def test_failure_before_replace_keeps_old_file_and_removes_temp(tmp_path):
    p = tmp_path / "report.html"
    p.write_text("old")
    with pytest.raises(RuntimeError), atomicfile.atomic_open(p) as f:
        f.write("half of the new")
        raise RuntimeError("disk full, say")
    assert p.read_text() == "old"
    assert listing(tmp_path) == ["report.html"]
    with pytest.raises(ValueError):  # unencodable: nothing written at all
        atomicfile.write_json(p, {"x": float("nan")}, allow_nan=False)
    assert p.read_text() == "old" and listing(tmp_path) == ["report.html"]


def test_crash_between_write_and_replace_leaves_the_old_file(tmp_path):
    p = tmp_path / "alerts_state.json"
    p.write_text('{"version": 1}')
    child = textwrap.dedent(f"""
        import os
        from autobot_monitor.atomicfile import atomic_path
        with atomic_path({str(p)!r}) as tmp:
            with open(tmp, "w") as f:
                f.write("torn")
            os._exit(9)  # killed after writing, before the replace
    """)
    r = subprocess.run([sys.executable, "-c", child], env={**os.environ}, check=False)
    assert r.returncode == 9
    assert json.loads(p.read_text()) == {"version": 1}
    leftovers = [n for n in listing(tmp_path) if n != p.name]
    assert all(n.startswith(".alerts_state.json.") and n.endswith(".tmp") for n in leftovers)


def test_library_writing_by_name(tmp_path):
    p = tmp_path / "out.pdf"
    with atomicfile.atomic_path(p) as tmp:
        assert os.path.dirname(tmp) == str(tmp_path) and not os.path.exists(tmp)
        with open(tmp, "wb") as f:
            f.write(b"%PDF")
        assert not p.exists()  # not visible until the block ends
    assert p.read_bytes() == b"%PDF"
