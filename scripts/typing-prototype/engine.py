"""Reproduction of the current engine (src/keystroke/digraph.rs): EWMA centre/spread per entry."""
import numpy as np
MAX_ENTRIES, MIN_SHARED, MIN_SPREAD, PRIOR_SPREAD, PRIOR_WEIGHT, MAX_DIST = 256, 8, 0.05, 0.15, 3.0, 10.0

class Engine:
    def __init__(self, data, min_weight=0.1, cap=MAX_ENTRIES):
        self.d = data; self.mw = min_weight; self.cap = cap
        self.name = np.random.default_rng(1).permutation(data.V)  # stands in for the hashed name
    def fit(self, train_users):
        pass
    def enroll(self, sids):
        d = self.d
        prof = {}  # col -> [seen, centre, spread]
        for s in sids:
            for c, x in zip(d.col[d.ptr[s]:d.ptr[s+1]], d.val[d.ptr[s]:d.ptr[s+1]]):
                st = prof.get(c)
                if st is None:
                    prof[c] = [1, x, 0.0]
                else:
                    seen = st[0] + 1; w = max(1.0 / seen, self.mw)
                    st[2] = (1 - w) * st[2] + w * abs(x - st[1])
                    st[1] = (1 - w) * st[1] + w * x; st[0] = seen
            if len(prof) > self.cap:
                keep = sorted(prof, key=lambda c: (-prof[c][0], self.name[c]))[:self.cap]
                prof = {c: prof[c] for c in keep}
        V = d.V
        seen = np.zeros(V); cen = np.zeros(V); spr = np.zeros(V)
        for c, (n, m, s) in prof.items():
            seen[c], cen[c], spr[c] = n, m, s
        return seen, cen, spr
    def score(self, prof, sids):
        seen, cen, spr = prof
        q, col, val, cnt = self.d.flat(sids)
        n = seen[col]; ok = n >= 2
        sp = np.maximum((n * spr[col] + PRIOR_WEIGHT * PRIOR_SPREAD) / (n + PRIOR_WEIGHT), MIN_SPREAD)
        t = np.minimum(np.abs(val - cen[col]) / sp, MAX_DIST) * ok
        nq = len(sids)
        sh = np.bincount(q, weights=ok, minlength=nq)
        sm = np.bincount(q, weights=t, minlength=nq)
        out = np.minimum(sm / np.maximum(sh, 1), MAX_DIST)
        out[sh < MIN_SHARED] = np.nan
        return out
