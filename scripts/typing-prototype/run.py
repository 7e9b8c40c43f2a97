import sys, time, numpy as np
from harness import Data, Protocol, evaluate, fmt, HEADER

def run(P, make, E, label, log=None):
    """make(train_users) -> model with enroll/score; fitted per fold on other folds' users."""
    scores = [None] * len(P.d.users)
    for f in range(P.nfolds):
        train = np.where(P.fold != f)[0]; test = np.where(P.fold == f)[0]
        m = make(train)
        for u in test:
            prof = m.enroll(P.d.user_sents[u][:E])
            g, im = P.queries[u]
            s = m.score(prof, np.concatenate([g, im]))
            scores[u] = (s[:5], s[5:])
    r = evaluate(P, scores, f"{label} E={E}")
    line = fmt(r); print(line, flush=True)
    if log:
        with open(log, "a") as fh: fh.write(line + "\n")
    return r, scores
