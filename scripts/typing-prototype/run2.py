import numpy as np
from harness import evaluate, fmt
def run_multi(P, make, E, label, log=None, keys=None):
    scores = {}
    nu = len(P.d.users)
    for f in range(P.nfolds):
        train = np.where(P.fold != f)[0]; test = np.where(P.fold == f)[0]
        m = make(train)
        for u in test:
            prof = m.enroll(P.d.user_sents[u][:E])
            g, im = P.queries[u]
            s = m.score(prof, np.concatenate([g, im]))
            for k, v in s.items():
                scores.setdefault(k, [None] * nu)[u] = (v[:5], v[5:])
    out = {}
    for k, sc in scores.items():
        if keys and k not in keys: continue
        r = evaluate(P, sc, f"{label} [{k}] E={E}"); out[k] = (r, sc)
        line = fmt(r); print(line, flush=True)
        if log:
            with open(log, "a") as fh: fh.write(line + "\n")
    return out
