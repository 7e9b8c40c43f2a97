"""Entry point: the current engine and the recommended model (factor-prior LLR, hold+ud, r=8,
capped profile) under the issue-13 protocol with 4-fold user-disjoint CV. Usage: proto.py [E,...]"""
import sys, numpy as np
from harness import Data, Protocol, HEADER
from engine import Engine
from factor import FactorBackground, FactorModel
from capped import Capped
from run2 import run_multi
from run import run
Es = [int(e) for e in (sys.argv[1] if len(sys.argv) > 1 else "1,2,5,10").split(",")]
print(HEADER)
d0 = Data(("hold", "dd")); P0 = Protocol(d0)
for E in Es:
    if E >= 2: run(P0, lambda tr: Engine(d0), E, "engine (digraph.rs)")
d = Data(("hold", "ud")); P = Protocol(d); bgs = {}
def make(tr):
    k = tuple(tr[:5])
    if k not in bgs: bgs[k] = FactorBackground(d, tr, r=8)
    return Capped(d, FactorModel(d, bgs[k]))
for E in Es:
    run_multi(P, make, E, "recommended", keys=["llr/sqrt"])
