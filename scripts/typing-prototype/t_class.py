"""Key classes instead of key names: hand x row for letters, plus space/shift/backspace/digit/punct/other."""
import numpy as np
from harness import *
from bayes import Background, BayesModel
from factor import FactorBackground, FactorModel
from run2 import run_multi
from data import load
codes = load()["codes"]
L = {"top": "QWERT", "home": "ASDFG", "bot": "ZXCVB"}; Rr = {"top": "YUIOP", "home": "HJKL", "bot": "NM"}
def cls(name):
    if name.startswith("Key"):
        ch = name[3:]
        for i, (row, s) in enumerate(L.items()):
            if ch in s: return i
        for i, (row, s) in enumerate(Rr.items()):
            if ch in s: return 3 + i
    return {"Space": 6, "ShiftLeft": 7, "Backspace": 8}.get(name, 9 if name.startswith("Digit") else 10 if name in ("Period", "Comma", "Slash", "Semicolon", "Quote", "Minus", "Equal") else 11)
keymap = np.zeros(len(codes), np.int32)
for n, i in codes.items(): keymap[i] = cls(n)
d = Data(("hold", "ud"), keymap=keymap); P = Protocol(d)
bgs = {}
def make(tr):
    k = tuple(tr[:5])
    if k not in bgs: bgs[k] = FactorBackground(d, tr, r=8)
    return FactorModel(d, bgs[k])
for E in (1, 5):
    run_multi(P, make, E, "factor r=8 hold+ud on 12 KEY CLASSES", log="results.md", keys=["llr/sqrt"])
