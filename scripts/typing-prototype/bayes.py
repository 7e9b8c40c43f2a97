"""Population-prior Gaussian model per entry (hierarchical: entry mean + user offset per entry type
+ user-specific residual), scored by a log-likelihood ratio or shrunken z distances."""
import numpy as np

class Background:
    def __init__(self, d, train_users, k0=5.0, min_users=3):
        self.d = d
        V = d.V; nt = len(d.types)
        tr = np.zeros(len(d.users), bool); tr[train_users] = True
        m = tr[d.s_user[d.s_of_entry]]
        s = d.s_of_entry[m]; c = d.col[m]; x = d.val[m]
        u = d.s_user[s]
        key = u.astype(np.int64) * V + c
        uk, inv = np.unique(key, return_inverse=True)
        n = np.bincount(inv).astype(float); sx = np.bincount(inv, weights=x)
        sxx = np.bincount(inv, weights=x * x)
        xb = sx / n; ku = uk // V; kc = uk % V
        ss_w = sxx - n * xb * xb  # within-user SS per (u,c)
        t_of = d.col_type[kc]
        # type-level within variance
        sig2_t = np.array([ss_w[t_of == t].sum() / max((n[t_of == t] - 1).sum(), 1) for t in range(nt)])
        ssw_c = np.bincount(kc, weights=ss_w, minlength=V); dof_c = np.bincount(kc, weights=n - 1, minlength=V)
        sig2 = (ssw_c + k0 * sig2_t[d.col_type]) / (dof_c + k0)
        # entry means & user offsets (alternate)
        nu_c = np.bincount(kc, minlength=V).astype(float)
        b = np.zeros((len(d.users), nt))
        for it in range(4):
            r = xb - b[ku, t_of]
            mu = np.bincount(kc, weights=r, minlength=V) / np.maximum(nu_c, 1)
            res = xb - mu[kc]
            w = (nu_c[kc] >= min_users).astype(float)
            for t in range(nt):
                mt = (t_of == t)
                num = np.bincount(ku[mt], weights=(res * w)[mt], minlength=len(d.users))
                den = np.bincount(ku[mt], weights=w[mt], minlength=len(d.users))
                b[:, t] = num / np.maximum(den, 1)
        sb2 = np.array([b[train_users, t].var() for t in range(nt)])
        r = xb - b[ku, t_of] - mu[kc]
        # between-user residual variance (excess over sampling noise)
        tau_raw_c = np.bincount(kc, weights=r * r - sig2[kc] / n, minlength=V)
        tau2_t = np.array([max(tau_raw_c[d.col_type == t].sum() / max(nu_c[d.col_type == t].sum(), 1), 1e-3) for t in range(nt)])
        tau2 = (tau_raw_c + k0 * tau2_t[d.col_type]) / (nu_c + k0)
        tau2 = np.maximum(tau2, 0.2 * tau2_t[d.col_type])
        # unseen / thin entries: back off mean to type mean, widen prior
        known = nu_c >= min_users
        for t in range(nt):
            mt = (d.col_type == t)
            mk = mt & known
            mean_t = mu[mk].mean(); var_t = mu[mk].var()
            mu[mt & ~known] = mean_t
            tau2[mt & ~known] = tau2_t[t] + var_t
        self.mu, self.sig2, self.tau2, self.sb2, self.known = mu, sig2, tau2, sb2, known
        self.sig2_t, self.tau2_t = sig2_t, tau2_t

class BayesModel:
    def __init__(self, d, bg, clip=3.0, use_offset=True, h0_offset=True):
        self.d = d; self.bg = bg; self.clip = clip; self.use_offset = use_offset; self.h0_offset = h0_offset
    def enroll(self, sids):
        d, bg = self.d, self.bg
        idx = np.concatenate([np.arange(d.ptr[s], d.ptr[s + 1]) for s in sids])
        c = d.col[idx]; x = d.val[idx]
        n = np.bincount(c, minlength=d.V).astype(float)
        sx = np.bincount(c, weights=x, minlength=d.V)
        return self._post(n, sx)
    def post(self, n, sx):
        return self._post(n, sx)
    def _post(self, n, sx):
        d, bg = self.d, self.bg
        nt = len(d.types)
        has = n > 0
        xb = np.where(has, sx / np.maximum(n, 1), 0)
        b = np.zeros(nt)
        if self.use_offset:
            for t in range(nt):
                m = has & (d.col_type == t) & bg.known
                w = 1.0 / (bg.tau2[m] + bg.sig2[m] / n[m])
                b[t] = (w * (xb[m] - bg.mu[m])).sum() / (w.sum() + 1.0 / bg.sb2[t])
        prior = bg.mu + b[d.col_type]
        prec = 1.0 / bg.tau2 + n / bg.sig2
        m = (prior / bg.tau2 + sx / bg.sig2) / prec
        v = 1.0 / prec
        return dict(m=m, v=v, n=n, b=b, nkeys=n.sum())
    def score(self, prof, sids):
        d, bg = self.d, self.bg
        q, col, x, cnt = d.flat(sids)
        nq = len(sids)
        # genuine predictive
        V1 = prof["v"][col] + bg.sig2[col]
        z1 = (x - prof["m"][col]) / np.sqrt(V1)
        zc = np.clip(z1, -self.clip, self.clip)
        # H0: population with unknown query offset b ~ N(0, sb2) per type (marginalised)
        V0 = bg.tau2[col] + bg.sig2[col]
        dev = x - bg.mu[col]
        dev = np.clip(dev, -self.clip * np.sqrt(V0), self.clip * np.sqrt(V0))
        ll1 = -0.5 * zc ** 2 - 0.5 * np.log(V1)
        ll0 = -0.5 * dev ** 2 / V0 - 0.5 * np.log(V0)
        L1 = np.bincount(q, weights=ll1, minlength=nq); L0 = np.bincount(q, weights=ll0, minlength=nq)
        if self.h0_offset:
            t = d.col_type[col]
            for ti in range(len(d.types)):
                mt = t == ti
                W = np.bincount(q[mt], weights=1 / V0[mt], minlength=nq)
                S = np.bincount(q[mt], weights=dev[mt] / V0[mt], minlength=nq)
                L0 += 0.5 * S ** 2 / (W + 1 / bg.sb2[ti]) - 0.5 * np.log1p(bg.sb2[ti] * W)
        ne = np.bincount(q, minlength=nq).astype(float)
        llr = L1 - L0
        absz = np.bincount(q, weights=np.abs(zc), minlength=nq) / ne
        return {"llr": -llr, "llr/n": -llr / ne, "llr/sqrt": -llr / np.sqrt(ne), "mean|z|": absz}
