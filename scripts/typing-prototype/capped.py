"""Deployable profile: per entry (n capped at NMAX -> fading mean, last-seen sample), at most CAP
entries; eviction by decayed count n * 0.5**(age/HALF) among entries absent from the new sample."""
import numpy as np
class Capped:
    def __init__(self, d, model, cap=256, nmax=20.0, half=20.0):
        self.d, self.m, self.cap, self.nmax, self.half = d, model, cap, nmax, half
    def enroll(self, sids):
        d = self.d
        prof = {}  # col -> [n, sx, last]
        for t, s in enumerate(sids):
            cols = d.col[d.ptr[s]:d.ptr[s + 1]]; vals = d.val[d.ptr[s]:d.ptr[s + 1]]
            for c, x in zip(cols, vals):
                e = prof.get(c)
                if e is None:
                    prof[c] = [1.0, x, t]
                else:
                    if e[0] >= self.nmax:
                        e[1] *= (self.nmax - 1) / e[0]; e[0] = self.nmax - 1
                    e[0] += 1; e[1] += x; e[2] = t
            if len(prof) > self.cap:
                cur = set(cols.tolist())
                pri = lambda c: prof[c][0] * 0.5 ** ((t - prof[c][2]) / self.half)
                old = sorted((c for c in prof if c not in cur), key=pri)
                drop = len(prof) - self.cap
                if drop > len(old):  # the new sample alone exceeds the cap: keep its most frequent
                    for c in old: del prof[c]
                    new = sorted(prof, key=lambda c: -prof[c][0])
                    for c in new[self.cap:]: del prof[c]
                else:
                    for c in old[:drop]: del prof[c]
        n = np.zeros(d.V); sx = np.zeros(d.V)
        for c, (a, b, _) in prof.items(): n[c], sx[c] = a, b
        p = self.m.post(n, sx); p["entries"] = len(prof)
        return p
    def score(self, p, sids):
        return self.m.score(p, sids)
