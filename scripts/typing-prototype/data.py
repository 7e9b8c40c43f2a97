"""Load the Aalto free-text dev split into compact arrays (cached under $KS_CACHE, default /tmp/ks-proto)."""
import json, os, pickle
import numpy as np
SRC = os.environ.get("KS_DATA", os.path.join(os.path.dirname(__file__), "../../../shared/data/keystroke/aalto-free/aalto-free-dev.jsonl"))
CACHE = os.path.join(os.environ.get("KS_CACHE", "/tmp/ks-proto"), "cache.pkl")

def load():
    if os.path.exists(CACHE):
        with open(CACHE, "rb") as f:
            return pickle.load(f)
    codes = {}
    sents = []  # (user, i, codes int32 (-1 null), down f64, up f64)
    with open(SRC) as f:
        for line in f:
            o = json.loads(line)
            ev = o["ev"]
            c = np.array([-1 if e[0] is None else codes.setdefault(e[0], len(codes)) for e in ev], np.int32)
            d = np.array([e[1] for e in ev], np.float64)
            u = np.array([e[2] for e in ev], np.float64)
            sents.append((o["u"], o["i"], c, d, u))
    users = sorted(set(s[0] for s in sents))
    out = dict(codes=codes, sents=sents, users=users)
    os.makedirs(os.path.dirname(CACHE), exist_ok=True)
    with open(CACHE, "wb") as f:
        pickle.dump(out, f)
    return out

if __name__ == "__main__":
    D = load()
    print(len(D["sents"]), len(D["users"]), len(D["codes"]))
    from collections import Counter
    per = Counter(s[0] for s in D["sents"]); print(Counter(per.values()))
    L = np.array([len(s[2]) for s in D["sents"]]); print(np.percentile(L, [0, 10, 50, 90, 100]))
    nulls = sum((s[2] < 0).sum() for s in D["sents"]); print("null frac", nulls / L.sum())
    print(sorted(D["codes"], key=D["codes"].get))
