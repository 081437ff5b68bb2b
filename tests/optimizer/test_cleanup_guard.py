"""Cleanup guardrails on a real temp tree: a root reached through a symlinked parent is refused
(nothing outside the intended tree is touched), globs that match (nearly) every name are refused
by testing them on probe names, and a directory moved out of the root is no longer trusted."""

from __future__ import annotations

import asyncio
import logging
import os
import time

import pytest
from optsupport import cfg

from autobot_monitor.clock import FakeClock
from autobot_monitor.config.loader import load_config
from autobot_monitor.errors import ConfigError, OptimizerError
from autobot_monitor.optimizer.actions import build_action
from autobot_monitor.optimizer.cleanup import _inside, open_root
from autobot_monitor.optimizer.inputs import scan_cleanup
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
    root = tmp_path / "intended" / "app" / "logs"
    c = cfg(f"optimizer: {{cleanup: [{{path: '{root}', globs: ['*.tmp'], older_than_days: 1}}]}}")
    # the symlink appears after the config was checked: the cleanup itself refuses it
    os.symlink(tmp_path / "elsewhere", tmp_path / "intended" / "app")  # parent is a symlink
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
                                   ["[a-m]*", "[!a-m]*"], ["*.*"],
                                   ["*e*", "*a*", "*o*", "*t*", "*i*", "*n*", "*s*"]])
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


def test_a_symlinked_root_is_refused_at_config_time_with_file_line_and_key(tmp_path):
    (tmp_path / "real").mkdir()
    os.symlink(tmp_path / "real", tmp_path / "alias")
    f = tmp_path / "monitor.yaml"
    f.write_text("optimizer:\n  cleanup:\n    - globs: ['*.tmp']\n"
                 f"      path: {tmp_path / 'alias' / 'logs'}\n")
    with pytest.raises(ConfigError) as e:
        load_config(str(f))
    msg = str(e.value)
    assert f"{f}:4: optimizer.cleanup[0].path" in msg
    assert f"real path {tmp_path / 'real' / 'logs'}" in msg
    # the real path is accepted, even before it exists
    f.write_text(f"optimizer: {{cleanup: [{{path: '{tmp_path / 'real' / 'logs'}', globs: ['*.tmp']}}]}}")
    assert load_config(str(f)).optimizer.cleanup[0].path == str(tmp_path / "real" / "logs")


def test_an_unreadable_root_is_logged_once_with_one_prefix(tmp_path, caplog):
    root = tmp_path / "app"
    c = cfg(f"optimizer: {{cleanup: [{{path: '{root}', globs: ['*.tmp']}}]}}")
    (tmp_path / "elsewhere").mkdir()
    os.symlink(tmp_path / "elsewhere", root)  # appears after the config check
    with caplog.at_level(logging.WARNING, logger="autobot_monitor"):
        for _ in range(3):
            assert scan_cleanup(c.optimizer.cleanup, time.time(), ["/"]) == {}
    lines = [r.getMessage() for r in caplog.records if "cleanup root" in r.getMessage()]
    assert len(lines) == 1, lines
    assert lines[0].count("cleanup root") == 1 and f"{root} is a symlink" in lines[0]
