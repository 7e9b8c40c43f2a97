import time
from harness import *
from engine import Engine
from run import run
t=time.time(); d = Data(("hold","dd")); P = Protocol(d); print("load", time.time()-t)
print(HEADER)
for E in (2,5,10):
    t=time.time(); run(P, lambda tr: Engine(d), E, "engine (digraph.rs)"); print(time.time()-t)
