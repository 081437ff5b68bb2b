"""The head's write path when the write-ahead log cannot take a batch: the batch is refused
whole and the head (samples, series, counters) stays exactly as acknowledged."""

import subprocess
import sys
import textwrap

T0 = 1_700_000_400.0


def test_a_batch_the_log_refuses_leaves_the_head_as_acknowledged(tmp_path):
    # a file-size limit (as a full disk) makes the log's append fail with EFBIG
    p = str(tmp_path / "m.db")
    code = textwrap.dedent(f"""
        import resource, signal
        from autobot_monitor.errors import StoreError
        from autobot_monitor.store import Series, TieredStore

        def head(s):
            return next(f for f in s.families() if f.name == "autobot_store_head_samples").samples[0].value

        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        s = TieredStore({p!r})
        assert s.write([Series("g", {{"host": "a"}}, [({T0}, 1.0), ({T0} + 1, 2.0)])]) == 2
        resource.setrlimit(resource.RLIMIT_FSIZE, (1024, resource.RLIM_INFINITY))
        big = [Series("g", {{"host": "a"}}, [({T0} + 2 + i, 3.0) for i in range(100)]),
               Series("new", {{"host": "b"}}, [({T0} + 2, 9.0)])]
        try:
            s.write(big)
            raise SystemExit("the write should have been refused")
        except StoreError as e:
            assert "refuses writes" in str(e), e
        assert head(s) == 2 and s.metric_names() == ["g"]
        assert [v for _, v in s.raw_samples("g", {{}}, {T0}, {T0} + 200)[0].points] == [1.0, 2.0]
        resource.setrlimit(resource.RLIMIT_FSIZE, (resource.RLIM_INFINITY, resource.RLIM_INFINITY))
        assert s.write(big) == 101  # (refusing, the store flushed the head to chunks first)
        assert len(s.raw_samples("g", {{}}, {T0}, {T0} + 200)[0].points) == 102
        assert s.metric_names() == ["g", "new"]
        print("ok", flush=True)
    """)
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert r.returncode == 0 and "ok" in r.stdout, r.stderr
