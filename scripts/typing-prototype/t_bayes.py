import time, sys
from harness import *
from bayes import Background, BayesModel
from run2 import run_multi
types = tuple(sys.argv[1].split(","))
d = Data(types); P = Protocol(d)
print(HEADER)
bgs = {}
def make(tr):
    k = tuple(tr[:5])
    if k not in bgs: bgs[k] = Background(d, tr)
    return BayesModel(d, bgs[k])
for E in (1, 5):
    t = time.time(); run_multi(P, make, E, "bayes " + "+".join(types)); print(time.time() - t)
