import os
"""Thresholds and calibration of the recommended score D = -LLR/sqrt(entries), per E, with CV."""
import numpy as np
from harness import *
from factor import FactorBackground, FactorModel
from capped import Capped
from sklearn.linear_model import LogisticRegression
d = Data(("hold", "ud")); P = Protocol(d)
bgs = {}
res = {}
for E in (1, 2, 5, 10):
    G, I, GL, IL, GF, IF = [], [], [], [], [], []
    for f in range(P.nfolds):
        tr = np.where(P.fold != f)[0]
        k = tuple(tr[:5])
        if k not in bgs: bgs[k] = FactorBackground(d, tr, r=8)
        m = Capped(d, FactorModel(d, bgs[k]))
        for u in np.where(P.fold == f)[0]:
            p = m.enroll(d.user_sents[u][:E]); g, im = P.queries[u]
            s = m.score(p, np.concatenate([g, im]))["llr/sqrt"]
            G.append(s[:5]); I.append(s[5:]); GF += [f] * 5; IF += [f] * 500
            GL.append(d.s_keys[g]); IL.append(d.s_keys[im])
    G, I = np.concatenate(G), np.concatenate(I); GF, IF = np.array(GF), np.array(IF)
    res[E] = (G, I, np.concatenate(GL), np.concatenate(IL), GF, IF)
    Is = np.sort(I); Gs = np.sort(G)
    t_eer = None
    thr = np.quantile(np.concatenate([G, I]), np.linspace(0, 1, 4001))
    fn = np.array([(G > t).mean() for t in thr]); fm = np.array([(I <= t).mean() for t in thr])
    t_eer = thr[np.argmin(np.abs(fn - fm))]
    t_fmr1 = Is[int(0.01 * len(Is)) - 1]; t_fnmr2 = Gs[int(0.98 * len(Gs))]
    print(f"E={E}: D genuine median {np.median(G):.2f}  impostor median {np.median(I):.2f} | thr@EER {t_eer:.2f}  thr@FMR1% {t_fmr1:.2f} (FNMR {np.mean(G>t_fmr1):.3f})  thr@FNMR2% {t_fnmr2:.2f} (FMR {np.mean(I<=t_fnmr2):.3f})")
np.savez(os.path.join(os.environ.get("KS_CACHE", "/tmp/ks-proto"), "calib_scores.npz"), **{f"{k}{E}": v for E, t in res.items() for k, v in zip(("G", "I", "GL", "IL", "GF", "IF"), t)})
# fixed thresholds across E
for tm, tx in ((-0.5, 0.5), (-0.3, 0.3), (0.0, 0.0), (-1.0, 0.5), (-0.6, 0.6)):
    line = []
    for E in res:
        G, I = res[E][:2]
        line.append(f"E={E}: match FMR {100*np.mean(I < tm):.1f}% / genuine-match {100*np.mean(G < tm):.0f}%, mismatch FNMR {100*np.mean(G > tx):.1f}% / impostor-mismatch {100*np.mean(I > tx):.0f}%")
    print(f"match D<{tm}, mismatch D>{tx}:: " + " | ".join(line))
# calibration: logistic regression on [D, log keys], trained on other folds, prior-balanced
for E in res:
    G, I, GL, IL, GF, IF = res[E]
    X = np.concatenate([G, I]); L = np.log(np.concatenate([GL, IL])); y = np.r_[np.ones_like(G), np.zeros_like(I)]
    F = np.r_[GF, IF]
    Xf = np.c_[X, L, X * L]
    ll = []
    for f in range(4):
        tr, te = F != f, F == f
        lr = LogisticRegression(class_weight="balanced").fit(Xf[tr], y[tr])
        if f == 0: coef = (lr.coef_[0], lr.intercept_[0])
        lr1 = LogisticRegression(class_weight="balanced").fit(X[tr, None], y[tr])
        if f == 0: c1 = (lr1.coef_[0], lr1.intercept_[0])
    print(f"E={E}: logistic p(genuine) on D only: a={c1[0][0]:.3f} b={c1[1]:.3f}; with logkeys: {np.round(coef[0],3)} {coef[1]:.3f}")
