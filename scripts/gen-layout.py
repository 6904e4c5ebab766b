#!/usr/bin/env python3
"""Generate the benchmark data set in pulse's import layout.

usage: gen-layout.py DIR PROMPTS [INDEX ...]
Writes PROMPTS prompts x 10 releases as DIR/<name>/<version>/content.md + metadata.json
(deterministic: same input, same bytes) and prints the names of the prompts at INDEX.
"""
import hashlib, json, os, random, sys
from datetime import datetime, timedelta, timezone

root, n = sys.argv[1], int(sys.argv[2])
wanted = [int(i) for i in sys.argv[3:]]
# 1.9.0 < 1.10.0 < 1.10.1 by SemVer, but not as strings; a pre-release sits below 2.0.0.
VERSIONS = ["0.1.0", "0.9.0", "1.0.0", "1.1.0", "1.2.0", "1.9.0",
            "1.10.0", "1.10.1", "2.0.0-rc.1", "2.0.0"]
WORDS = ("you are a careful assistant review the code answer concisely cite sources never "
         "invent facts explain each step use the tools when needed keep a friendly tone and "
         "ask before acting on anything irreversible").split()
rng = random.Random(20240101)
t0 = datetime(2024, 1, 1, tzinfo=timezone.utc)

def name_of(p):
    team = f"team-{p % 8}"
    # every fifth prompt one level deeper, so names have two and three segments
    return f"{team}/agents/prompt-{p:04d}" if p % 5 == 0 else f"{team}/prompt-{p:04d}"

for p in range(n):
    name = name_of(p)
    for i, v in enumerate(VERSIONS):
        d = os.path.join(root, name, v)
        os.makedirs(d)
        size = rng.randint(200, 4000)
        lines = [f"# {name} {v}", "", f"You are prompt {p}, release {v}."]
        total = sum(len(l) + 1 for l in lines)
        while total < size:
            l = " ".join(rng.choice(WORDS) for _ in range(rng.randint(6, 16))) + "."
            lines.append(l)
            total += len(l) + 1
        content = ("\n".join(lines) + "\n").encode()
        ts = (t0 + timedelta(days=7 * i, minutes=p)).strftime("%Y-%m-%dT%H:%M:%SZ")
        with open(os.path.join(d, "content.md"), "wb") as f:
            f.write(content)
        meta = {
            "name": name, "version": v, "created_at": ts, "updated_at": ts,
            "size": len(content), "checksum": "sha256:" + hashlib.sha256(content).hexdigest(),
            "tags": ["bench", f"team-{p % 8}"] + (["agent"] if p % 5 == 0 else []),
            "description": f"Benchmark prompt {p} of team {p % 8}",
        }
        with open(os.path.join(d, "metadata.json"), "w") as f:
            json.dump(meta, f, indent=2)
            f.write("\n")
print(" ".join(name_of(i) for i in wanted))
