import sys, json, time
from harness import *
from factor import FactorBackground, FactorModel
from run2 import run_multi
types = tuple(sys.argv[1].split(",")); opts = json.loads(sys.argv[2]); Es = [int(e) for e in sys.argv[3].split(",")]
clip = opts.pop("clip", 3.0)
d = Data(types); P = Protocol(d)
bgs = {}
def make(tr):
    k = tuple(tr[:5])
    if k not in bgs:
        t = time.time(); bgs[k] = FactorBackground(d, tr, **opts); print("fit", time.time() - t, flush=True)
    return FactorModel(d, bgs[k], clip=clip)
for E in Es:
    run_multi(P, make, E, "factor " + "+".join(types) + " " + sys.argv[2], log="results.md", keys=["llr", "llr/sqrt"])
