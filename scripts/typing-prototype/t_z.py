import sys, json
from harness import *
from factor import FactorBackground, FactorModel
from bayes import Background, BayesModel
from znorm import ZNorm
from run2 import run_multi
types = tuple(sys.argv[1].split(",")); opts = json.loads(sys.argv[2]); Es = [int(e) for e in sys.argv[3].split(",")]
nco = opts.pop("cohort", 200)
d = Data(types); P = Protocol(d)
bgs = {}
def make(tr):
    k = tuple(tr[:5])
    if k not in bgs: bgs[k] = FactorBackground(d, tr, **opts) if opts.get("r") else Background(d, tr)
    m = FactorModel(d, bgs[k]) if opts.get("r") else BayesModel(d, bgs[k])
    return ZNorm(d, m, tr, n_cohort=nco)
for E in Es:
    run_multi(P, make, E, "znorm " + "+".join(types) + " " + sys.argv[2], log="results.md", keys=["llr+z", "llr/sqrt+z"])
