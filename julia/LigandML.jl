"""
    LigandML

Julia kernels of ligandml: Stevens operators, ligand-field Hamiltonians and the batched powder
sweeps (exact zero-field Van Vleck chi(T), orientation-averaged M/B at a finite field),
multithreaded over parameter sets (and over field directions when there are few sets).

The functions mirror the NumPy reference one to one, under the same names:
`python/ligandml/operators.py` -> `src/operators.jl`, `hamiltonian.py` -> `src/hamiltonian.jl`,
`susceptibility.py` -> `src/susceptibility.jl`, and so do the numerical constants
(`constants.py` and the tolerances DEGENERACY_TOL_REL, NEAR_GAP_K of `susceptibility.py` ->
`src/constants.jl`). Standard library only (LinearAlgebra).
Units: energies and Stevens coefficients in kelvin, fields in tesla, temperatures in kelvin,
susceptibilities in emu/mol per magnetic ion, moments in Bohr magnetons per ion.

Loaded by `include` (from Python through juliacall, and from `julia/test/runtests.jl`), so it
works on Julia 1.10 without registering the package:

    include("julia/LigandML.jl"); using .LigandML
"""
module LigandML

using LinearAlgebra

export Ion,
    StevensBatch,
    dimension,
    iskramers,
    n_sets,
    all_q_even,
    persymmetric,
    isreal_batch
export m_values, j_plus, spin_matrices, stevens_leading_coefficient, stevens_operator
export operator_stack, ligand_field_hamiltonians
export level_scheme, VanVleckTerms, curie_and_van_vleck_terms, van_vleck_chi, zero_field_chi
export powder_moment, powder_magnetization, moment_to_chi, finite_field_chi
export grid_moments, powder_magnetization_table, crystal_magnetization_table

include("src/constants.jl")
include("src/operators.jl")
include("src/types.jl")
include("src/hamiltonian.jl")
include("src/threading.jl")
include("src/susceptibility.jl")
include("src/finite_field.jl")
include("src/symmetry.jl")
include("src/structure_models.jl")
include("src/single_crystal.jl")

end # module LigandML
