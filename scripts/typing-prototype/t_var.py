import time, sys, json
from harness import *
from bayes import Background, BayesModel
from run2 import run_multi
types = tuple(sys.argv[1].split(",")); opts = json.loads(sys.argv[2]); Es = [int(e) for e in sys.argv[3].split(",")]
keys = sys.argv[4].split(",") if len(sys.argv) > 4 else ["llr", "llr/sqrt"]
k0 = opts.pop("k0", 5.0)
d = Data(types); P = Protocol(d)
bgs = {}
def make(tr):
    k = tuple(tr[:5])
    if k not in bgs: bgs[k] = Background(d, tr, k0=k0)
    return BayesModel(d, bgs[k], **opts)
lab = "bayes " + "+".join(types) + (" " + sys.argv[2] if sys.argv[2] != "{}" else "") + (f" k0={k0}" if k0 != 5.0 else "")
for E in Es:
    run_multi(P, make, E, lab, log="results.md", keys=keys)
