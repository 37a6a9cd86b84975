"""Symmetry and rotation checks with numbers: exactness of rotate_parameters against the rotation
operator U = exp(-i a Jz) exp(-i b Jy) exp(-i g Jz), round trips, powder invariance, timing, and
canonical_parameters against canonical_DE.  Usage: python benchmarks/bench_symmetry.py"""
import time

import numpy as np
from scipy.linalg import expm
from scipy.spatial.transform import Rotation
import ligandml as lm
from ligandml.operators import spin_matrices
from ligandml.parameters import to_stevens_batch
from ligandml.hamiltonian import ligand_field_hamiltonians
t0=time.perf_counter(); [lm.allowed_parameters(g) for g in lm.symmetry.POINT_GROUPS]; t1=time.perf_counter()
print(f"allowed_parameters, all 32 groups, first call: {t1-t0:.2f} s")
rng=np.random.default_rng(0); S={2:1,4:1e-2,6:1e-4}
names=[f"B{k}{q}" for k in (2,4,6) for q in range(-k,k+1)]
er=lm.ion("Er3+"); _,jy,jz=spin_matrices(7.5)
T=np.geomspace(2,300,64)
wH=wR=wC=0
for i in range(20):
    p={n:rng.uniform(-1,1)*S[int(n[1])] for n in names}
    R=Rotation.random(random_state=i).as_matrix(); a,b,g=lm.rotations.matrix_to_euler(R)
    U=expm(-1j*a*jz)@expm(-1j*b*jy)@expm(-1j*g*jz)
    H=ligand_field_hamiltonians(er,to_stevens_batch(p),real=False)[0]
    r=lm.rotate_parameters(p,R)
    H2=ligand_field_hamiltonians(er,to_stevens_batch(r),real=False)[0]
    wH=max(wH,np.abs(U@H@U.conj().T-H2).max()/np.abs(H).max())
    back=lm.rotate_parameters(r,R.T); wR=max(wR,max(abs(back[n]-p[n]) for n in p))
    c0=lm.powder_susceptibility(er,p,T,backend="numpy"); c1=lm.powder_susceptibility(er,r,T,backend="numpy")
    wC=max(wC,np.abs(c1/c0-1).max())
print(f"20 random full sets x random rotations (Er3+): |H(B')-UHU^+|/|H| <= {wH:.1e}, round trip <= {wR:.1e} K, powder chi rel. diff <= {wC:.1e}")
t0=time.perf_counter(); 
for i in range(100): lm.rotate_parameters({n:1.0 for n in names}, (0.1*i,0.2,0.3))
print(f"rotate_parameters (27 terms): {(time.perf_counter()-t0)/100*1e3:.2f} ms per call")
D=rng.uniform(-10,10,10000);E=rng.uniform(-20/3,20/3,10000)
t0=time.perf_counter(); c=lm.canonical_parameters({"D":D,"E":E},"D2h"); t1=time.perf_counter()
Dc,Ec=lm.canonical_DE(D,E)
print(f"canonical_parameters D2h, 10,000 sets: {t1-t0:.2f} s; max |3 B20 - D_canonical_DE| = {np.abs(3*c['B20']-Dc).max():.1e}, max |B22 - E| = {np.abs(c['B22']-Ec).max():.1e}")
