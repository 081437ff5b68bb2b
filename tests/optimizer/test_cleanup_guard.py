"""Cleanup guardrails on a real temp tree: a root reached through a symlinked parent is refused
(nothing outside the intended tree is touched), globs that match (nearly) every name are refused
by testing them on probe names, and a directory moved out of the root is no longer trusted."""

from __future__ import annotations

import asyncio
import os
import time

import pytest
from optsupport import cfg

from autobot_monitor.clock import FakeClock
from autobot_monitor.errors import ConfigError, OptimizerError
from autobot_monitor.optimizer.actions import build_action
from autobot_monitor.optimizer.cleanup import _inside, open_root
from autobot_monitor.optimizer.model import ActionRef


def _old(path, age_days=30):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"x" * 10)
    t = time.time() - age_days * 86400
    os.utime(path, (t, t))
    return path


def test_root_under_a_symlinked_parent_is_refused_and_nothing_outside_is_removed(tmp_path):
    victims = [_old(tmp_path / "elsewhere" / "logs" / "a.tmp"),
               _old(tmp_path / "elsewhere" / "logs" / "deep" / "b.tmp")]
    (tmp_path / "intended").mkdir()
    os.symlink(tmp_path / "elsewhere", tmp_path / "intended" / "app")  # parent is a symlink
    root = tmp_path / "intended" / "app" / "logs"
    c = cfg(f"optimizer: {{cleanup: [{{path: '{root}', globs: ['*.tmp'], older_than_days: 1}}]}}")
    action = build_action(ActionRef("disk_cleanup", str(root), "box"), c, "box", FakeClock(wall=time.time()))
    with pytest.raises(OptimizerError, match=r"intended/app is a symlink.*real path .*elsewhere/logs"):
        action.plan()
    with pytest.raises(OptimizerError, match="is a symlink"):
        asyncio.run(action.apply())
    assert all(v.exists() for v in victims)
    # the real path itself is accepted and cleaned
    real = tmp_path / "elsewhere" / "logs"
    c2 = cfg(f"optimizer: {{cleanup: [{{path: '{real}', globs: ['*.tmp'], older_than_days: 1}}]}}")
    res = asyncio.run(build_action(ActionRef("disk_cleanup", str(real), "box"), c2, "box",
                                   FakeClock(wall=time.time())).apply())
    assert res.ok and res.details["files"] == 2 and not any(v.exists() for v in victims)


@pytest.mark.parametrize("globs", [["*"], ["?*"], ["*?"], ["[!.]*"], ["**"], ["[!q]*"], ["*[!.]"],
                                   ["[a-m]*", "[!a-m]*"]])
def test_globs_matching_everything_are_refused_by_testing_them(globs):
    with pytest.raises(ConfigError, match="too broad"):
        cfg(f"optimizer: {{cleanup: [{{path: /var/tmp/x, globs: {globs!r}}}]}}")


def test_narrow_globs_are_accepted():
    c = cfg("optimizer: {cleanup: [{path: /var/tmp/x, globs: ['*.tmp', 'core.*', '*.log.[0-9]*', '*~']}]}")
    assert c.optimizer.cleanup[0].globs[0] == "*.tmp"


def test_a_directory_moved_out_of_the_root_is_not_trusted(tmp_path):
    root = tmp_path / "root"
    (root / "sub").mkdir(parents=True)
    rfd = open_root(str(root))
    dfd = os.open("sub", os.O_RDONLY | os.O_DIRECTORY, dir_fd=rfd)
    try:
        assert _inside(rfd, str(root)) and _inside(dfd, str(root))
        os.rename(root / "sub", tmp_path / "moved")  # the fd follows the directory
        assert not _inside(dfd, str(root))
    finally:
        os.close(dfd)
        os.close(rfd)
