# Ligand-field and Zeeman Hamiltonians (energies in kelvin). Mirror of
# python/ligandml/hamiltonian.py. Julia is column-major, so where NumPy stacks along the first
# axis ((N, n, n) arrays) these functions put the set index last ((n, n, N)) or return a vector
# of matrices; the numbers are the same.

"""
    operator_stack(J, terms) -> Vector{Matrix{ComplexF64}}

Stevens operators O_k^q for the given (k, q) terms, one (2J+1)x(2J+1) matrix per term.
"""
operator_stack(J::Real, terms) = Matrix{ComplexF64}[
    stevens_operator(J, k, q)
    for (k, q) in terms
]

"""
    typed_operators(J, terms, T) -> Vector{Matrix{T}}

The operator stack with element type `T`: `Float64` keeps the real parts (exact when every
q >= 0), `ComplexF64` keeps the operators as they are.
"""
function typed_operators(J::Real, terms, ::Type{T}) where {T <: Union{Float64, ComplexF64}}
    ops = operator_stack(J, terms)
    return T === Float64 ? Matrix{T}[real.(op) for op in ops] : Matrix{T}[op for op in ops]
end

"""
    ligand_field_hamiltonian!(H, ops, coeffs, s) -> H

Overwrite `H` with H_LF = sum_p coeffs[s, p] ops[p] [K] for parameter set `s` (no allocation).
"""
function ligand_field_hamiltonian!(
    H::AbstractMatrix{T},
    ops::Vector{Matrix{T}},
    coeffs::AbstractMatrix{Float64},
    s::Integer,
) where {T}
    fill!(H, zero(T))
    for p in eachindex(ops)
        c = coeffs[s, p]
        op = ops[p]
        @inbounds for j in axes(H, 2), i in axes(H, 1)
            H[i, j] += c * op[i, j]
        end
    end
    return H
end

"""
    ligand_field_hamiltonians(ion, batch; realvalued=nothing) -> Array{T,3}

H_LF = sum_kq B_k^q O_k^q [K] for every set in the batch, shape (2J+1, 2J+1, N) (set index
last). Real (`Float64`) when no sine-type (q < 0) term is present or `realvalued` is true,
complex otherwise.
"""
function ligand_field_hamiltonians(
    ion::Ion,
    batch::StevensBatch;
    realvalued::Union{Nothing, Bool} = nothing,
)
    use_real = realvalued === nothing ? isreal_batch(batch) : realvalued
    T = use_real ? Float64 : ComplexF64
    ops = typed_operators(ion.J, batch.terms, T)
    n = dimension(ion)
    out = Array{T, 3}(undef, n, n, n_sets(batch))
    for s in 1:n_sets(batch)
        ligand_field_hamiltonian!(view(out, :, :, s), ops, batch.coeffs, s)
    end
    return out
end

"""
    direction_operators(J, directions) -> Vector{Matrix{ComplexF64}}

n . J = n_x Jx + n_y Jy + n_z Jz for every row n of `directions` (P x 3, unit vectors, not
renormalised: the Lebedev points are unit vectors already).
"""
function direction_operators(J::Real, directions::AbstractMatrix{Float64})
    jx, jy, jz = spin_matrices(J)
    return Matrix{ComplexF64}[
        directions[p, 1] .* jx .+ directions[p, 2] .* jy .+ directions[p, 3] .* jz
        for p in axes(directions, 1)
    ]
end
