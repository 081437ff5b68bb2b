"""Series counts of node_exporter and our agent on this host, total and in the families we claim
(every node_* family our collectors declare): how many of node_exporter's series ours has with
identical name and labels.

    .venv/bin/python bench/node_exporter_series.py SRC NE_URL OUR_URL
"""
import sys
src, ne_url, our_url = sys.argv[1:4]
sys.path[:0] = [src]
import httpx
from autobot_monitor.collectors import REGISTRY, collector_class
from autobot_monitor.exposition import parse
names, prefixes = set(), []
for n in REGISTRY:
    cls = collector_class(n)
    names |= {s.name for s in cls.SPECS if s.name.startswith("node_")}
    prefixes += [p for p in getattr(cls, "DYNAMIC_PREFIXES", ()) if p.startswith("node_")]
prefixes = tuple(prefixes)
def ser(url):
    out = {}
    for f in parse(httpx.get(url, timeout=10).text):
        for s in f.samples:
            out[(s.name, tuple(p for p in s.labels if p[1] != ""))] = f.name
    return out
ne, ours = ser(ne_url), ser(our_url)
cl = lambda fam: fam in names or (prefixes and fam.startswith(prefixes))
ne_cl = {k for k, f in ne.items() if cl(f)}
our_cl = {k for k, f in ours.items() if cl(f)}
print(f"total series: node_exporter {len(ne)}, ours {len(ours)}")
print(f"claimed node_* families: {len(names)} declared (+prefixes {prefixes})")
print(f"in claimed families: node_exporter {len(ne_cl)}, ours {len(our_cl)}, "
      f"node_exporter's present in ours {len(ne_cl & set(ours))} ({len(ne_cl & set(ours))/max(len(ne_cl),1):.1%})")
print("missing:", sorted(ne_cl - set(ours)))
ne_node = {k for k, f in ne.items() if f.startswith("node_") and not f.startswith(("node_scrape_", "node_exporter_"))}
print(f"all node_exporter node_* series (less node_scrape_/build info): {len(ne_node)}, present in ours {len(ne_node & set(ours))} ({len(ne_node & set(ours))/len(ne_node):.1%})")
