# Physical constants, the same CODATA 2022 values that python/ligandml/constants.py takes from
# scipy.constants, combined in the same order so both backends get identical doubles
# (tests/golden/constants.txt checks this).

#: Bohr magneton [J/T] (CODATA 2022)
const BOHR_MAGNETON_SI = 9.2740100657e-24
#: Boltzmann constant [J/K] (exact in the SI)
const BOLTZMANN_SI = 1.380649e-23
#: Avogadro constant [1/mol] (exact in the SI)
const AVOGADRO = 6.02214076e23
#: elementary charge [C] (exact in the SI)
const ELEMENTARY_CHARGE = 1.602176634e-19

#: Bohr magneton in cgs [erg/G]
const MU_B_CGS = BOHR_MAGNETON_SI * 1.0e3
#: Boltzmann constant in cgs [erg/K]
const K_B_CGS = BOLTZMANN_SI * 1.0e7
#: Zeeman energy of one Bohr magneton in one tesla, in kelvin [K/T]
const MU_B_OVER_K_B = BOHR_MAGNETON_SI / BOLTZMANN_SI
#: N_A muB^2 / k_B [emu K/mol]; the free-ion Curie constant is CURIE_FACTOR gJ^2 J(J+1) / 3
const CURIE_FACTOR = AVOGADRO * MU_B_CGS^2 / K_B_CGS
#: one Bohr magneton per ion as a molar moment [emu/mol]
const MU_B_PER_ION_IN_EMU_PER_MOL = AVOGADRO * MU_B_CGS
#: one tesla in oersted
const OERSTED_PER_TESLA = 1.0e4
#: kelvin per meV
const KELVIN_PER_MEV = 1.0e-3 * ELEMENTARY_CHARGE / BOLTZMANN_SI

#: relative level spacing (times max(1 K, spectrum width)) below which levels count as
#: degenerate (as in susceptibility.py)
const DEGENERACY_TOL_REL = 1.0e-11
#: level pairs closer than this [K] (but not degenerate) are summed exactly, pair by pair
const NEAR_GAP_K = 1.0e-2
#: highest rank of the Stevens operators
const K_MAX = 6
