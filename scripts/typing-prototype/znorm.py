"""Per-user z-norm: the profile is scored against a cohort of training-fold sentences at enrolment;
scores become (s - mean) / sd."""
import numpy as np
class ZNorm:
    def __init__(self, d, model, train_users, n_cohort=200, seed=5, key="llr/sqrt"):
        rng = np.random.default_rng(seed)
        cu = rng.choice(train_users, n_cohort, replace=False)
        self.cohort = np.array([d.user_sents[u][rng.integers(0, 15)] for u in cu])
        self.m = model; self.key = key
    def enroll(self, sids):
        p = self.m.enroll(sids)
        sc = self.m.score(p, self.cohort)
        p["z"] = {k: (np.mean(v), np.std(v)) for k, v in sc.items()}
        return p
    def score(self, p, sids):
        sc = self.m.score(p, sids)
        out = {}
        for k, v in sc.items():
            mu, sd = p["z"][k]
            out[k] = v; out[k + "+z"] = (v - mu) / sd
        return out
