"""Protocol, entry extraction and metrics for issue 13 (free-text typing verification)."""
import numpy as np
from data import load

TAU = 0.05  # s, engine's LOG_TAU_S
MAX_LAT = 1500.0

def logt(ms):
    x = ms / 1000.0
    return np.sign(x) * np.log1p(np.abs(x) / TAU)

class Data:
    def __init__(self, types=("hold", "dd"), keymap=None):
        D = load()
        self.K = len(D["codes"])
        self.codes = D["codes"]
        self.users = D["users"]
        self.uidx = {u: j for j, u in enumerate(self.users)}
        sents = sorted(D["sents"], key=lambda s: (self.uidx[s[0]], s[1]))
        self.S = len(sents)
        self.s_user = np.array([self.uidx[s[0]] for s in sents])
        self.s_i = np.array([s[1] for s in sents])
        self.s_keys = np.array([len(s[2]) for s in sents])
        self.types = types
        K = self.K
        offs = {}
        o = 0
        for t in types:
            offs[t] = o
            o += K if t == "hold" else K * K
        self.V = o
        self.col_type = np.zeros(self.V, np.int8)
        for ti, t in enumerate(types):
            self.col_type[offs[t]:offs[t] + (K if t == "hold" else K * K)] = ti
        cols, vals, cnts, ptr = [], [], [], [0]
        for (_, _, c, d, u) in sents:
            if keymap is not None:
                c = np.where(c >= 0, keymap[np.maximum(c, 0)], -1)
            cc, vv = [], []
            ok = c >= 0
            if "hold" in types:
                cc.append(offs["hold"] + c[ok]); vv.append(logt(u[ok] - d[ok]))
            a, b = c[:-1], c[1:]
            dd = d[1:] - d[:-1]
            pok = (a >= 0) & (b >= 0) & (dd <= MAX_LAT)
            pc = a[pok] * K + b[pok]
            if "dd" in types:
                cc.append(offs["dd"] + pc); vv.append(logt(dd[pok]))
            if "ud" in types:
                ud = (d[1:] - u[:-1])[pok]
                cc.append(offs["ud"] + pc); vv.append(logt(ud))
            cc = np.concatenate(cc); vv = np.concatenate(vv)
            uc, inv, n = np.unique(cc, return_inverse=True, return_counts=True)
            mv = np.bincount(inv, weights=vv) / n
            cols.append(uc); vals.append(mv); cnts.append(n); ptr.append(ptr[-1] + len(uc))
        self.col = np.concatenate(cols).astype(np.int64)
        self.val = np.concatenate(vals)
        self.cnt = np.concatenate(cnts).astype(np.float64)
        self.ptr = np.array(ptr)
        self.s_of_entry = np.repeat(np.arange(self.S), np.diff(self.ptr))
        self.user_sents = [np.where(self.s_user == j)[0] for j in range(len(self.users))]

    def flat(self, sids):
        """Entries of sentences sids: (query position, col, val, cnt)."""
        idx = np.concatenate([np.arange(self.ptr[s], self.ptr[s + 1]) for s in sids])
        q = np.repeat(np.arange(len(sids)), [self.ptr[s + 1] - self.ptr[s] for s in sids])
        return q, self.col[idx], self.val[idx], self.cnt[idx]

class Protocol:
    """Folds by user; genuine = last 5 sentences; impostors = last 5 of 100 other users of the same
    fold (so a background fitted on the other folds never saw the impostor queries)."""
    def __init__(self, data, nfolds=4, seed=13, n_imp=100):
        self.d = data
        nu = len(data.users)
        rng = np.random.default_rng(seed)
        perm = rng.permutation(nu)
        self.fold = np.zeros(nu, int)
        self.fold[perm] = np.arange(nu) % nfolds
        self.nfolds = nfolds
        self.imp = []
        for u in range(nu):
            pool = np.where((self.fold == self.fold[u]) & (np.arange(nu) != u))[0]
            self.imp.append(np.sort(rng.choice(pool, n_imp, replace=False)))
        self.queries = []
        for u in range(nu):
            g = data.user_sents[u][10:15]
            im = np.concatenate([data.user_sents[v][10:15] for v in self.imp[u]])
            self.queries.append((g, im))

def eer(gen, imp):
    """EER of distances (low = genuine)."""
    gen = np.sort(gen); imp = np.sort(imp)
    if len(gen) == 0 or len(imp) == 0:
        return np.nan
    thr = np.unique(np.concatenate([gen, imp]))
    fnmr = 1 - np.searchsorted(gen, thr, side="right") / len(gen)   # genuine > thr rejected
    fmr = np.searchsorted(imp, thr, side="right") / len(imp)        # impostor <= thr accepted
    # include threshold below all
    fnmr = np.concatenate([[1.0], fnmr]); fmr = np.concatenate([[0.0], fmr])
    k = np.argmin(np.abs(fnmr - fmr))
    # interpolate between k-1,k,k+1 crossing
    i = np.where(fnmr - fmr <= 0)[0][0]
    if i == 0:
        return 0.0
    a0, b0 = fnmr[i - 1] - fmr[i - 1], fnmr[i] - fmr[i]
    t = a0 / (a0 - b0) if a0 != b0 else 0
    return float((fnmr[i - 1] + t * (fnmr[i] - fnmr[i - 1]) + fmr[i - 1] + t * (fmr[i] - fmr[i - 1])) / 2)

def fnmr_at(gen, imp, fmr_target=0.01):
    imp = np.sort(imp)
    k = int(np.floor(fmr_target * len(imp)))
    thr = imp[k - 1] if k > 0 else -np.inf   # accept <= thr: fmr <= target
    return float(np.mean(gen > thr))

def evaluate(P, scores, label=""):
    """scores[u] = (gen distances (5,), imp distances (500,)); NaN = insufficient.
    Metrics over scored queries; insufficient share reported separately."""
    d = P.d
    gen_all, imp_all, gl, il, per = [], [], [], [], []
    ins_n = tot = 0
    for u, (g, im) in enumerate(scores):
        gq, iq = P.queries[u]
        ins_n += np.isnan(g).sum() + np.isnan(im).sum(); tot += len(g) + len(im)
        gen_all.append(g); imp_all.append(im)
        gl.append(d.s_keys[gq]); il.append(d.s_keys[iq])
        gm, imm = g[~np.isnan(g)], im[~np.isnan(im)]
        if len(gm) and len(imm):
            per.append(eer(gm, imm))
    G = np.concatenate(gen_all); I = np.concatenate(imp_all)
    GL = np.concatenate(gl); IL = np.concatenate(il)
    res = dict(label=label, peruser=np.nanmean(per), ins=ins_n / tot)
    gm, im = ~np.isnan(G), ~np.isnan(I)
    res["global"] = eer(G[gm], I[im]); res["fnmr1"] = fnmr_at(G[gm], I[im])
    for name, lo, hi in (("20-34", 20, 35), ("35-49", 35, 50), ("50+", 50, 10**6)):
        a = gm & (GL >= lo) & (GL < hi); b = im & (IL >= lo) & (IL < hi)
        res[name] = eer(G[a], I[b])
    return res

def fmt(r):
    return (f"| {r['label']} | {100*r['global']:.1f} | {100*r['peruser']:.1f} | {100*r['fnmr1']:.1f} | "
            f"{100*r['ins']:.1f} | {100*r['20-34']:.1f} | {100*r['35-49']:.1f} | {100*r['50+']:.1f} |")

HEADER = ("| candidate | global EER % | mean per-user EER % | FNMR@1%FMR % | insufficient % | "
          "EER 20-34 | EER 35-49 | EER 50+ |\n|---|---|---|---|---|---|---|---|")
