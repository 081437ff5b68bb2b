"""run_command: real processes: output, exit status, a missing program, a flood of output and a
program that hangs after closing its stdout are all outcomes, never exceptions or leftovers."""

from __future__ import annotations

import sys

from autobot_monitor.collectors.command import run_command
from support import pid_alive


def test_output_and_exit_status():
    r = run_command([sys.executable, "-c", "print('hé'); raise SystemExit(3)"], 30)
    assert (r.status, r.returncode, r.stdout) == ("ok", 3, "hé\n")


def test_missing_program():
    assert run_command(["/nonexistent/tool"], 5).status == "missing"


def test_a_flood_of_output_is_cut_and_the_writer_killed(tmp_path):
    pidfile = tmp_path / "pid"
    code = (f"import os,sys; open({str(pidfile)!r},'w').write(str(os.getpid()))\n"
            "while True: sys.stdout.write('y' * 65536)")
    r = run_command([sys.executable, "-c", code], 30, max_bytes=100_000)
    assert (r.status, r.stdout) == ("too_large", "")
    assert not pid_alive(int(pidfile.read_text()))


def test_closing_stdout_then_hanging_is_a_timeout(tmp_path):
    pidfile = tmp_path / "pid"
    code = (f"import os,time; open({str(pidfile)!r},'w').write(str(os.getpid())); "
            "os.close(1); time.sleep(60)")
    r = run_command([sys.executable, "-c", code], 1.0)
    assert r.status == "timeout"
    assert not pid_alive(int(pidfile.read_text()))


def test_env_is_added_to_the_inherited_one():
    r = run_command([sys.executable, "-c", "import os; print(os.environ['X_TEST'], 'PATH' in os.environ)"],
                    30, env={"X_TEST": "1"})
    assert r.stdout.split() == ["1", "True"]
