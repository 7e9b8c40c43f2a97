"""Factor model: x_ue = mu_e + A_e . y_u + r_ue (user residual, var tau2_e) + noise (var sig2_e),
y_u ~ N(0, I_r). Generalises the per-type speed offset to r learned user factors (low-rank PLDA
with missing entries). Score = -LLR(H1: user posterior, H0: population with y marginalised)."""
import numpy as np
from bayes import Background

class FactorBackground:
    def __init__(self, d, train_users, r=8, iters=8, lam=1.0, min_users=10, k0=5.0, seed=0):
        base = Background(d, train_users, k0=k0)
        self.d = d; V = d.V; nt = len(d.types)
        tr = np.zeros(len(d.users), bool); tr[train_users] = True
        m = tr[d.s_user[d.s_of_entry]]
        s = d.s_of_entry[m]; c = d.col[m]; x = d.val[m]; u = d.s_user[s]
        key = u.astype(np.int64) * V + c
        uk, inv = np.unique(key, return_inverse=True)
        n = np.bincount(inv).astype(float); xb = np.bincount(inv, weights=x) / n
        ku = (uk // V).astype(int); kc = (uk % V).astype(int)
        sig2 = base.sig2; tau2 = base.tau2.copy(); mu = base.mu.copy()
        nu_c = np.bincount(kc, minlength=V)
        known = nu_c >= min_users
        rows = known[kc]
        ku, kc, xb, n = ku[rows], kc[rows], xb[rows], n[rows]
        ctype = d.col_type
        rng = np.random.default_rng(seed)
        A = np.zeros((V, r))
        for t in range(nt):
            A[ctype == t, t % r] = np.sqrt(base.sb2[t])
        A += 0.01 * rng.standard_normal((V, r))
        NU = len(d.users)
        Y = np.zeros((NU, r))
        for it in range(iters):
            psi = tau2[kc] + sig2[kc] / n
            w = 1.0 / psi
            # y-step
            Ak = A[kc]; res = xb - mu[kc]
            M = np.zeros((NU, r, r)); b = np.zeros((NU, r))
            for i in range(r):
                b[:, i] = np.bincount(ku, weights=w * Ak[:, i] * res, minlength=NU)
                for j in range(i, r):
                    v = np.bincount(ku, weights=w * Ak[:, i] * Ak[:, j], minlength=NU)
                    M[:, i, j] = v; M[:, j, i] = v
            M += np.eye(r)
            Y[train_users] = np.linalg.solve(M[train_users], b[train_users][..., None])[..., 0]
            # A,mu-step (ridge on loadings), per entry
            Z = np.concatenate([np.ones((len(ku), 1)), Y[ku]], 1)
            G = np.zeros((V, r + 1, r + 1)); h = np.zeros((V, r + 1))
            for i in range(r + 1):
                h[:, i] = np.bincount(kc, weights=w * Z[:, i] * xb, minlength=V)
                for j in range(i, r + 1):
                    v = np.bincount(kc, weights=w * Z[:, i] * Z[:, j], minlength=V)
                    G[:, i, j] = v; G[:, j, i] = v
            reg = np.zeros((r + 1, r + 1)); reg[1:, 1:] = lam * np.eye(r)
            # regularise mean weakly towards nothing (tiny) for stability
            reg[0, 0] = 1e-6
            kn = np.where(known)[0]
            sol = np.linalg.solve(G[kn] + reg, h[kn][..., None])[..., 0]
            mu[kn] = sol[:, 0]; A[kn] = sol[:, 1:]
            # tau2 update: residual excess variance
            res = xb - mu[kc] - (A[kc] * Y[ku]).sum(1)
            traw = np.bincount(kc, weights=res ** 2 - sig2[kc] / n, minlength=V)
            cnt = np.bincount(kc, minlength=V)
            for t in range(nt):
                mt = (ctype == t) & known
                tt = max(traw[mt].sum() / cnt[mt].sum(), 1e-3)
                tau2[mt] = np.maximum((traw[mt] + k0 * tt) / (cnt[mt] + k0), 0.2 * tt)
        # unknown entries: type-mean loading, base prior (mean & inflated tau2 from base)
        for t in range(nt):
            mt = ctype == t
            A[mt & ~known] = A[mt & known].mean(0)
            mu[mt & ~known] = mu[mt & known].mean()
            tau2[mt & ~known] = base.tau2[mt & ~known]
        self.mu, self.A, self.tau2, self.sig2, self.r = mu, A, tau2, sig2, r

class FactorModel:
    def __init__(self, d, bg, clip=3.0):
        self.d = d; self.bg = bg; self.clip = clip
    def enroll(self, sids):
        d = self.d
        idx = np.concatenate([np.arange(d.ptr[s], d.ptr[s + 1]) for s in sids])
        c = d.col[idx]; x = d.val[idx]
        n = np.bincount(c, minlength=d.V).astype(float)
        sx = np.bincount(c, weights=x, minlength=d.V)
        return self.post(n, sx)
    def post(self, n, sx):
        bg = self.bg; r = bg.r
        has = np.where(n > 0)[0]
        xb = sx[has] / n[has]
        w = 1.0 / (bg.tau2[has] + bg.sig2[has] / n[has])
        Ah = bg.A[has]
        M = np.eye(r) + (Ah * w[:, None]).T @ Ah
        y = np.linalg.solve(M, (Ah * (w * (xb - bg.mu[has]))[:, None]).sum(0))
        prior = bg.mu + bg.A @ y
        prec = 1.0 / bg.tau2 + n / bg.sig2
        m = (prior / bg.tau2 + sx / bg.sig2) / prec
        return dict(m=m, v=1.0 / prec, n=n, y=y, nkeys=n.sum())
    def score(self, prof, sids):
        d, bg = self.d, self.bg; r = bg.r
        q, col, x, cnt = d.flat(sids)
        nq = len(sids)
        V1 = prof["v"][col] + bg.sig2[col]
        zc = np.clip((x - prof["m"][col]) / np.sqrt(V1), -self.clip, self.clip)
        V0 = bg.tau2[col] + bg.sig2[col]
        dev = np.clip(x - bg.mu[col], -self.clip * np.sqrt(V0), self.clip * np.sqrt(V0))
        ll1 = -0.5 * zc ** 2 - 0.5 * np.log(V1)
        ll0 = -0.5 * dev ** 2 / V0 - 0.5 * np.log(V0)
        L1 = np.bincount(q, weights=ll1, minlength=nq); L0 = np.bincount(q, weights=ll0, minlength=nq)
        A = bg.A[col]; w = 1 / V0
        S = np.stack([np.bincount(q, weights=w * dev * A[:, i], minlength=nq) for i in range(r)], 1)
        M = np.zeros((nq, r, r))
        for i in range(r):
            for j in range(i, r):
                v = np.bincount(q, weights=w * A[:, i] * A[:, j], minlength=nq); M[:, i, j] = v; M[:, j, i] = v
        M += np.eye(r)
        sol = np.linalg.solve(M, S[..., None])[..., 0]
        L0 += 0.5 * (S * sol).sum(1) - 0.5 * np.linalg.slogdet(M)[1]
        ne = np.bincount(q, minlength=nq).astype(float)
        llr = L1 - L0
        return {"llr": -llr, "llr/sqrt": -llr / np.sqrt(ne)}
