# Exact zero-field powder susceptibility, batched over parameter sets. Mirror of the first half
# of python/ligandml/susceptibility.py; the same algorithm, one set at a time per thread.
#
#     chi = (N_A muB^2 gJ^2 / k_B) / (3 Z) * sum_i exp(-E_i/T) [ c_i / T + v_i ]
#     c_i = sum_{j: E_j = E_i} S_ij,      v_i = sum_{j: E_j != E_i} 2 S_ij / (E_j - E_i),
#     S_ij = |<i|Jx|j>|^2 + |<i|Jy|j>|^2 + |<i|Jz|j>|^2,
#
# energies in kelvin. Levels closer than DEGENERACY_TOL_K count as degenerate (their pair enters
# the Curie term), so Kramers doublets and E -> 0 never give 0/0. c_i and v_i do not depend on
# T, so a temperature costs one exponential per level.
#
# Allocation: every buffer lives in a per-task LevelWorkspace allocated once per chunk of sets.
# The one exception is the LAPACK eigensolver: eigen!(Hermitian(A)) returns fresh eigenvalue and
# eigenvector arrays (and LAPACK's work arrays) for each matrix, a few kB per set for J = 15/2.
# Avoiding that would mean calling LAPACK through ccall with our own work arrays; the
# allocations are small next to the O(n^3) solve, so the public API is kept.

# --------------------------------------------------------------------------------------------
# workspaces and routes
# --------------------------------------------------------------------------------------------

"""
    LevelWorkspace{T}(n)

Buffers for the level scheme and Van Vleck terms of one parameter set of dimension n, element
type `T` (`Float64` for real Hamiltonians, `ComplexF64` otherwise). One per task.
"""
struct LevelWorkspace{T <: Union{Float64, ComplexF64}}
    H::Matrix{T}               # ligand-field Hamiltonian, n x n
    energies::Vector{Float64}  # eigenvalues [K], n (parity route: block A then block B)
    strengths::Matrix{Float64} # S_ij, n x n
    scaled::Matrix{T}          # m .* V, n x n
    moved::Matrix{T}           # J+ V, n x n
    jz_e::Matrix{T}            # V' Jz V, n x n
    jp_e::Matrix{T}            # V' J+ V, n x n
    h_a::Matrix{T}             # parity block A (m = J, J-2, ...), na x na
    h_b::Matrix{T}             # parity block B (m = J-1, J-3, ...), nb x nb
    v_b::Matrix{T}             # block-B eigenvectors mirrored from block A, nb x nb
    scaled_a::Matrix{T}
    scaled_b::Matrix{T}
    jz_a::Matrix{T}            # V_a' Jz_A V_a
    jz_b::Matrix{T}            # V_b' Jz_B V_b
    moved_ab::Matrix{T}        # J+_AB V_b, na x nb
    moved_ba::Matrix{T}        # J+_BA V_a, nb x na
    jp_ab::Matrix{T}           # <a|J+|b>, na x nb
    jp_ba::Matrix{T}           # <b|J+|a>, nb x na
    curie_all::Vector{Float64} # c_i before the Kramers merge, n
    vanvleck_all::Vector{Float64}
    perm::Vector{Int}
    levels::Vector{Float64} # per-level terms after the merge (first L entries used)
    weights::Vector{Float64}
    curie::Vector{Float64}
    vanvleck::Vector{Float64}
end

function LevelWorkspace{T}(n::Integer) where {T <: Union{Float64, ComplexF64}}
    na = (n + 1) ÷ 2
    nb = n ÷ 2
    sq(k) = Matrix{T}(undef, k, k)
    return LevelWorkspace{T}(
        sq(n),
        zeros(n),
        zeros(n, n),
        sq(n),
        sq(n),
        sq(n),
        sq(n),
        sq(na),
        sq(nb),
        sq(nb),
        sq(na),
        sq(nb),
        sq(na),
        sq(nb),
        Matrix{T}(undef, na, nb),
        Matrix{T}(undef, nb, na),
        Matrix{T}(undef, na, nb),
        Matrix{T}(undef, nb, na),
        zeros(n),
        zeros(n),
        collect(1:n),
        zeros(n),
        zeros(n),
        zeros(n),
        zeros(n),
    )
end

"""
    AngularMomentum{T}(J)

Read-only Jz diagonal and J+ matrix (whole and split into the m-parity blocks), element type
`T` so that every product below is a same-type BLAS call. Shared by all tasks.
"""
struct AngularMomentum{T}
    m::Vector{Float64}
    m_a::Vector{Float64}
    m_b::Vector{Float64}
    jp::Matrix{T}
    jp_ab::Matrix{T} # J+ restricted to rows in A, columns in B
    jp_ba::Matrix{T} # J+ restricted to rows in B, columns in A
end

function AngularMomentum{T}(J::Real) where {T}
    m = m_values(J)
    jp = j_plus(J)
    return AngularMomentum{T}(
        m,
        m[1:2:end],
        m[2:2:end],
        Matrix{T}(jp),
        Matrix{T}(jp[1:2:end, 2:2:end]),
        Matrix{T}(jp[2:2:end, 1:2:end]),
    )
end

"""
    level_route(ion, batch) -> Symbol

The cheapest exact route of `level_scheme`: `:blocks` (two m-parity blocks, every q even),
`:mirrored` (one block: also persymmetric, half-integer J), or `:full`.
"""
function level_route(ion::Ion, batch::StevensBatch)
    n = dimension(ion)
    if n >= 2 && all_q_even(batch) && !isempty(batch.terms)
        return (persymmetric(batch) && iseven(n)) ? :mirrored : :blocks
    end
    return :full
end

# --------------------------------------------------------------------------------------------
# eigensystems and dipole matrix elements
# --------------------------------------------------------------------------------------------

"""
    diagonal_element!(out, V, d, W, scaled) -> out

out = V' diag(d) W without allocation (`scaled` holds d .* W).
"""
function diagonal_element!(
    out::Matrix{T},
    V::AbstractMatrix{T},
    d::Vector{Float64},
    W::AbstractMatrix{T},
    scaled::Matrix{T},
) where {T}
    @inbounds for j in axes(W, 2), i in axes(W, 1)
        scaled[i, j] = d[i] * W[i, j]
    end
    return mul!(out, adjoint(V), scaled)
end

"""
    operator_element!(out, V, A, W, moved) -> out

out = V' A W without allocation (`moved` holds A W).
"""
function operator_element!(
    out::Matrix{T},
    V::AbstractMatrix{T},
    A::Matrix{T},
    W::AbstractMatrix{T},
    moved::Matrix{T},
) where {T}
    mul!(moved, A, W)
    return mul!(out, adjoint(V), moved)
end

"""
    levels_full!(ws, am)

Energies [K] and dipole strengths S_ij of `ws.H` by full diagonalisation (ws.H is destroyed).
"""
function levels_full!(ws::LevelWorkspace{T}, am::AngularMomentum{T}) where {T}
    F = eigen!(Hermitian(ws.H))
    V = F.vectors
    copyto!(ws.energies, F.values)
    diagonal_element!(ws.jz_e, V, am.m, V, ws.scaled)
    operator_element!(ws.jp_e, V, am.jp, V, ws.moved)
    S = ws.strengths
    @inbounds for j in axes(S, 2), i in axes(S, 1)
        S[i, j] = abs2(ws.jz_e[i, j]) + 0.5 * (abs2(ws.jp_e[i, j]) + abs2(ws.jp_e[j, i]))
    end
    return nothing
end

"""
    levels_parity_blocks!(ws, am, mirrored)

Energies and dipole strengths when H couples m only to m +- 2, 4, ... (even q only). Block A
holds the basis states 1, 3, 5, ... (m = J, J-2, ...), block B the even ones. Jz acts inside a
block, J+ between them. For a persymmetric H and half-integer J (`mirrored`) the flip m -> -m
maps A onto B, so B's eigenvectors are A's with rows reversed and one eigensolve of half the
size suffices. Energies are stored block A first, then block B (not sorted).
"""
function levels_parity_blocks!(
    ws::LevelWorkspace{T},
    am::AngularMomentum{T},
    mirrored::Bool,
) where {T}
    H = ws.H
    na = length(am.m_a)
    nb = length(am.m_b)
    @inbounds for j in 1:na, i in 1:na
        ws.h_a[i, j] = H[2i - 1, 2j - 1]
    end
    Fa = eigen!(Hermitian(ws.h_a))
    v_a = Fa.vectors
    if mirrored
        # n even, so na == nb
        @inbounds for j in 1:nb, i in 1:nb
            ws.v_b[i, j] = v_a[nb + 1 - i, j]
        end
        v_b = ws.v_b
        e_b = Fa.values
    else
        @inbounds for j in 1:nb, i in 1:nb
            ws.h_b[i, j] = H[2i, 2j]
        end
        Fb = eigen!(Hermitian(ws.h_b))
        v_b = Fb.vectors
        e_b = Fb.values
    end
    diagonal_element!(ws.jz_a, v_a, am.m_a, v_a, ws.scaled_a)
    diagonal_element!(ws.jz_b, v_b, am.m_b, v_b, ws.scaled_b)
    operator_element!(ws.jp_ab, v_a, am.jp_ab, v_b, ws.moved_ab) # <a|J+|b>
    operator_element!(ws.jp_ba, v_b, am.jp_ba, v_a, ws.moved_ba) # <b|J+|a>
    S = ws.strengths
    @inbounds begin
        for i in 1:na
            ws.energies[i] = Fa.values[i]
        end
        for i in 1:nb
            ws.energies[na + i] = e_b[i]
        end
        for j in 1:na, i in 1:na
            S[i, j] = abs2(ws.jz_a[i, j])
        end
        for j in 1:nb, i in 1:nb
            S[na + i, na + j] = abs2(ws.jz_b[i, j])
        end
        for b in 1:nb, a in 1:na
            s_ab = 0.5 * (abs2(ws.jp_ab[a, b]) + abs2(ws.jp_ba[b, a]))
            S[a, na + b] = s_ab
            S[na + b, a] = s_ab
        end
    end
    return nothing
end

"""
    level_scheme!(ws, am, ops, coeffs, s, route)

Build the Hamiltonian of set `s` in `ws.H` and fill `ws.energies` [K] and `ws.strengths`.
"""
function level_scheme!(
    ws::LevelWorkspace{T},
    am::AngularMomentum{T},
    ops::Vector{Matrix{T}},
    coeffs::Matrix{Float64},
    s::Integer,
    route::Symbol,
) where {T}
    ligand_field_hamiltonian!(ws.H, ops, coeffs, s)
    if route === :full
        levels_full!(ws, am)
    else
        levels_parity_blocks!(ws, am, route === :mirrored)
    end
    return nothing
end

"""
    level_scheme(ion, batch) -> (energies, strengths)

Energies [K] (N x (2J+1)) and dipole strengths S_ij (N x (2J+1) x (2J+1)) for a batch of sets,
the same layout as the NumPy reference. Picks the cheapest exact route: two m-parity blocks
when every q is even (one block when the Hamiltonian is also persymmetric), a full eigensolve
otherwise. Energies are not sorted. Single-threaded; for inspection and tests.
"""
function level_scheme(ion::Ion, batch::StevensBatch)
    T = isreal_batch(batch) ? Float64 : ComplexF64
    n = dimension(ion)
    N = n_sets(batch)
    ops = typed_operators(ion.J, batch.terms, T)
    am = AngularMomentum{T}(ion.J)
    ws = LevelWorkspace{T}(n)
    route = level_route(ion, batch)
    energies = zeros(N, n)
    strengths = zeros(N, n, n)
    for s in 1:N
        level_scheme!(ws, am, ops, batch.coeffs, s, route)
        energies[s, :] .= ws.energies
        strengths[s, :, :] .= ws.strengths
    end
    return energies, strengths
end

# --------------------------------------------------------------------------------------------
# Van Vleck sum
# --------------------------------------------------------------------------------------------

"""
    curie_and_van_vleck_terms!(ws, kramers) -> L

T-independent per-level terms of the Van Vleck sum for the set in `ws` (ws.energies is shifted
in place so that the ground level is 0). Fills the first L entries of ws.levels [K],
ws.weights, ws.curie and ws.vanvleck [1/K]. For a Kramers ion the doublets are merged
(L = n/2, weight 2); otherwise L = n and weight 1.
"""
function curie_and_van_vleck_terms!(ws::LevelWorkspace, kramers::Bool)
    E = ws.energies
    S = ws.strengths
    n = length(E)
    emin = minimum(E)
    @inbounds for i in 1:n
        E[i] -= emin
    end
    @inbounds for i in 1:n
        c = 0.0
        v = 0.0
        for j in 1:n
            gap = E[j] - E[i]
            if abs(gap) < DEGENERACY_TOL_K
                c += S[i, j]
            else
                v += 2.0 * S[i, j] / gap
            end
        end
        ws.curie_all[i] = c
        ws.vanvleck_all[i] = v
    end
    if kramers
        sortperm!(ws.perm, E; alg = InsertionSort) # stable, like argsort(kind="stable")
        L = n ÷ 2
        @inbounds for l in 1:L
            a = ws.perm[2l - 1]
            b = ws.perm[2l]
            ws.levels[l] = E[a]
            ws.curie[l] = ws.curie_all[a] + ws.curie_all[b]
            ws.vanvleck[l] = ws.vanvleck_all[a] + ws.vanvleck_all[b]
            ws.weights[l] = 2.0
        end
        return L
    end
    @inbounds for i in 1:n
        ws.levels[i] = E[i]
        ws.curie[i] = ws.curie_all[i]
        ws.vanvleck[i] = ws.vanvleck_all[i]
        ws.weights[i] = 1.0
    end
    return n
end

"""
    curie_and_van_vleck_terms(energies, strengths, kramers) -> (levels, weights, curie, vanvleck)

The per-level terms for one set: energies [K] (n), strengths S_ij (n x n). Returns levels [K]
shifted so the ground level is 0, degeneracy weights, Curie terms and Van Vleck terms [1/K],
each of length n/2 (Kramers, doublets merged) or n.
"""
function curie_and_van_vleck_terms(
    energies::AbstractVector{<:Real},
    strengths::AbstractMatrix{<:Real},
    kramers::Bool,
)
    n = length(energies)
    ws = LevelWorkspace{Float64}(n)
    copyto!(ws.energies, energies)
    copyto!(ws.strengths, strengths)
    L = curie_and_van_vleck_terms!(ws, kramers)
    return ws.levels[1:L], ws.weights[1:L], ws.curie[1:L], ws.vanvleck[1:L]
end

"""
    van_vleck_chi!(out, s, levels, weights, curie, vanvleck, L, T, gJ)

Write chi(T) [emu/mol] of set `s` into row `s` of `out` from the first `L` per-level terms.
"""
function van_vleck_chi!(
    out::AbstractMatrix{Float64},
    s::Integer,
    levels::Vector{Float64},
    weights::Vector{Float64},
    curie::Vector{Float64},
    vanvleck::Vector{Float64},
    L::Integer,
    T::Vector{Float64},
    gJ::Float64,
)
    prefactor = CURIE_FACTOR * gJ^2 / 3.0
    @inbounds for t in eachindex(T)
        temp = T[t]
        z = 0.0
        c = 0.0
        v = 0.0
        for l in 1:L
            b = exp(-levels[l] / temp)
            z += weights[l] * b
            c += curie[l] * b
            v += vanvleck[l] * b
        end
        out[s, t] = prefactor * (c / temp + v) / z
    end
    return out
end

"""
    van_vleck_chi(levels, weights, curie, vanvleck, T, gJ) -> Vector{Float64}

chi(T) [emu/mol] of one set from the per-level terms of `curie_and_van_vleck_terms`; T [K].
"""
function van_vleck_chi(
    levels::AbstractVector{<:Real},
    weights::AbstractVector{<:Real},
    curie::AbstractVector{<:Real},
    vanvleck::AbstractVector{<:Real},
    T::AbstractVector{<:Real},
    gJ::Real,
)
    temps = check_temperatures(T)
    out = zeros(1, length(temps))
    van_vleck_chi!(
        out,
        1,
        Vector{Float64}(levels),
        Vector{Float64}(weights),
        Vector{Float64}(curie),
        Vector{Float64}(vanvleck),
        length(levels),
        temps,
        Float64(gJ),
    )
    return vec(out)
end

# --------------------------------------------------------------------------------------------
# the sweep
# --------------------------------------------------------------------------------------------

"""
    zero_field_chi(ion, batch, T; nchunks=Threads.nthreads()) -> Matrix{Float64}

Exact zero-field powder chi(T) [emu/mol per ion], N x length(T); T in kelvin. Threads over
parameter sets: the sets are cut into `nchunks` contiguous chunks, one task each, each with its
own preallocated workspace.
"""
function zero_field_chi(
    ion::Ion,
    batch::StevensBatch,
    T::AbstractVector{<:Real};
    nchunks::Integer = Threads.nthreads(),
)
    temps = check_temperatures(T)
    out = zeros(n_sets(batch), length(temps))
    (dimension(ion) < 2 || ion.gJ == 0.0) && return out
    elty = isreal_batch(batch) ? Float64 : ComplexF64
    with_single_threaded_blas() do
        zero_field_chi!(out, ion, batch, temps, elty, nchunks)
    end
    return out
end

function zero_field_chi!(
    out::Matrix{Float64},
    ion::Ion,
    batch::StevensBatch,
    temps::Vector{Float64},
    ::Type{T},
    nchunks::Integer,
) where {T}
    n = dimension(ion)
    ops = typed_operators(ion.J, batch.terms, T)
    am = AngularMomentum{T}(ion.J)
    route = level_route(ion, batch)
    kramers = iskramers(ion)
    coeffs = batch.coeffs
    foreach_chunk(chunk_ranges(n_sets(batch), nchunks)) do _, sets
        ws = LevelWorkspace{T}(n)
        for s in sets
            level_scheme!(ws, am, ops, coeffs, s, route)
            L = curie_and_van_vleck_terms!(ws, kramers)
            van_vleck_chi!(
                out,
                s,
                ws.levels,
                ws.weights,
                ws.curie,
                ws.vanvleck,
                L,
                temps,
                ion.gJ,
            )
        end
    end
    return out
end
