# Exact zero-field powder susceptibility, batched over parameter sets. Mirror of the first half
# of python/ligandml/susceptibility.py; the same algorithm, one set at a time per thread.
#
#     chi = (N_A muB^2 gJ^2 / k_B) / (3 Z) * sum_i exp(-E_i/T) [ c_i / T + v_i ]
#     c_i = sum_{j: E_j = E_i} S_ij,      v_i = sum_{j: E_j != E_i} 2 S_ij / (E_j - E_i),
#     S_ij = |<i|Jx|j>|^2 + |<i|Jy|j>|^2 + |<i|Jz|j>|^2,
#
# energies in kelvin. Levels closer than DEGENERACY_TOL_REL x max(1 K, spectrum width) are
# degenerate (their pair enters the Curie term c_i), so Kramers doublets and E -> 0 never give
# 0/0. Pairs with small non-zero gaps (< NEAR_GAP_K) are summed exactly per temperature as
# S_ij exp(-E_i/T) (1 - exp(-x))/(x T), x = (E_j - E_i)/T, which has no cancellation; the rest
# (the far pairs) form v_i and carry an error below eps*width/NEAR_GAP_K, about 1e-10.
# c_i and v_i do not depend on T, so a temperature costs one exponential per level (plus one per
# near pair, which are rare).
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
    VanVleckBuffers(nlevels, npairs)

The T-independent Van Vleck terms of one parameter set: per level (first L entries used)
levels [K] (ground level 0), degeneracy weights, Curie terms c_i and Van Vleck terms v_i [1/K];
per near pair (i, j) (first n_near entries used, in the order i, then j) the lower-index energy
E_i [K], the gap E_j - E_i [K] and the dipole strength S_ij. Filled by
`curie_and_van_vleck_terms!`, read by `van_vleck_chi!`.
"""
struct VanVleckBuffers
    levels::Vector{Float64}
    weights::Vector{Float64}
    curie::Vector{Float64}
    vanvleck::Vector{Float64}
    near_energy::Vector{Float64}
    near_gap::Vector{Float64}
    near_strength::Vector{Float64}
end

VanVleckBuffers(nlevels::Integer, npairs::Integer) = VanVleckBuffers(
    zeros(nlevels),
    zeros(nlevels),
    zeros(nlevels),
    zeros(nlevels),
    zeros(npairs),
    zeros(npairs),
    zeros(npairs),
)

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
    terms::VanVleckBuffers # per-level terms after the merge, and the near pairs
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
        VanVleckBuffers(n, n * (n - 1)),
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
    curie_and_van_vleck_terms!(ws, kramers) -> (L, n_near)

T-independent terms of the Van Vleck sum for the set in `ws` (ws.energies [K] is shifted in
place so that the ground level is 0), written into `ws.terms`. Pairs closer than
DEGENERACY_TOL_REL * max(1 K, width) are degenerate (Curie term c_i); pairs with non-zero gaps
below NEAR_GAP_K [K] are kept aside (the first n_near near-pair entries, in the order i, then j)
and summed exactly per temperature by `van_vleck_chi!`; the rest form
v_i = sum_j 2 S_ij / (E_j - E_i) [1/K]. For a Kramers ion the degenerate doublets are merged
(L = n/2, weight 2); otherwise L = n and weight 1.
"""
function curie_and_van_vleck_terms!(ws::LevelWorkspace, kramers::Bool)
    E = ws.energies
    S = ws.strengths
    buf = ws.terms
    n = length(E)
    emin = minimum(E)
    @inbounds for i in 1:n
        E[i] -= emin
    end
    degenerate_tol = DEGENERACY_TOL_REL * max(1.0, maximum(E)) # [K]
    n_near = 0
    @inbounds for i in 1:n
        c = 0.0
        v = 0.0
        for j in 1:n
            gap = E[j] - E[i]
            if abs(gap) < degenerate_tol
                c += S[i, j]
            elseif abs(gap) < NEAR_GAP_K
                n_near += 1
                buf.near_energy[n_near] = E[i]
                buf.near_gap[n_near] = gap
                buf.near_strength[n_near] = S[i, j]
            else
                v += 2.0 * S[i, j] / gap
            end
        end
        ws.curie_all[i] = c
        ws.vanvleck_all[i] = v
    end
    return merge_levels!(ws, kramers), n_near
end

"""
    merge_levels!(ws, kramers) -> L

Copy the per-level terms of `ws` (energies [K], c_i, v_i [1/K]) into `ws.terms`; for a Kramers
ion merge each doublet into one level of weight 2 (levels sorted, L = n/2), otherwise keep the
n levels with weight 1.
"""
function merge_levels!(ws::LevelWorkspace, kramers::Bool)
    E = ws.energies
    buf = ws.terms
    n = length(E)
    if kramers
        sortperm!(ws.perm, E; alg = InsertionSort) # stable, like argsort(kind="stable")
        L = n ÷ 2
        @inbounds for l in 1:L
            a = ws.perm[2l - 1]
            b = ws.perm[2l]
            buf.levels[l] = E[a]
            buf.curie[l] = ws.curie_all[a] + ws.curie_all[b]
            buf.vanvleck[l] = ws.vanvleck_all[a] + ws.vanvleck_all[b]
            buf.weights[l] = 2.0
        end
        return L
    end
    @inbounds for i in 1:n
        buf.levels[i] = E[i]
        buf.curie[i] = ws.curie_all[i]
        buf.vanvleck[i] = ws.vanvleck_all[i]
        buf.weights[i] = 1.0
    end
    return n
end

"""
    relative_expm1(x) -> Float64

(1 - exp(-x)) / x for a dimensionless x, exact to rounding for every x (1 at x = 0; 1 - x/2
for |x| < 1e-8, where the next term x^2/6 is below rounding).
"""
relative_expm1(x::Float64) = abs(x) < 1.0e-8 ? 1.0 - 0.5 * x : -expm1(-x) / x

"""
    van_vleck_chi!(out, s, terms, L, n_near, T, gJ)

Write chi(T) [emu/mol] of set `s` into row `s` of `out` from the first `L` per-level terms and
the first `n_near` near pairs of `terms` (a `VanVleckBuffers`); T [K], gJ dimensionless. Each
near pair adds S_ij exp(-E_i/T) (1 - exp(-x))/(x T), x = (E_j - E_i)/T, to the numerator.
"""
function van_vleck_chi!(
    out::AbstractMatrix{Float64},
    s::Integer,
    terms::VanVleckBuffers,
    L::Integer,
    n_near::Integer,
    T::Vector{Float64},
    gJ::Float64,
)
    prefactor = CURIE_FACTOR * gJ^2 / 3.0
    levels = terms.levels
    weights = terms.weights
    curie = terms.curie
    vanvleck = terms.vanvleck
    near_energy = terms.near_energy
    near_gap = terms.near_gap
    near_strength = terms.near_strength
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
        num = c / temp + v
        for p in 1:n_near
            x = near_gap[p] / temp
            num += near_strength[p] * exp(-near_energy[p] / temp) * relative_expm1(x) / temp
        end
        out[s, t] = prefactor * num / z
    end
    return out
end

"""
    VanVleckTerms

T-independent pieces of the Van Vleck sum for N parameter sets, as returned by
`curie_and_van_vleck_terms` (the NumPy dataclass of the same name, sets numbered from 1):
`levels` [K] (ground level 0), `weights` (degeneracy), `curie` (c_i) and `vanvleck`
(v_i [1/K]), each N x L; `near_set`, `near_energy` [K], `near_gap` [K] and `near_strength`
list the level pairs (i, j) with a small but non-zero gap E_j - E_i, whose contribution
S_ij exp(-E_i/T) (1 - exp(-x))/(x T), x = gap/T, is summed exactly at each temperature instead
of through c_i and v_i.
"""
struct VanVleckTerms
    levels::Matrix{Float64}
    weights::Matrix{Float64}
    curie::Matrix{Float64}
    vanvleck::Matrix{Float64}
    near_set::Vector{Int}
    near_energy::Vector{Float64}
    near_gap::Vector{Float64}
    near_strength::Vector{Float64}
end

"""
    curie_and_van_vleck_terms(energies, strengths, kramers) -> VanVleckTerms

Split the Van Vleck sum of N sets into per-level terms that do not depend on T: energies [K]
(N x n) and dipole strengths S_ij (N x n x n), the layout `level_scheme` returns; one set may
be given as a vector (n) and a matrix (n x n). Pairs closer than
DEGENERACY_TOL_REL * max(1 K, width) are degenerate (Curie term c_i); pairs with gaps up to
NEAR_GAP_K [K] are listed as near pairs, summed exactly per temperature by `van_vleck_chi`;
the rest form v_i = sum 2 S_ij/(E_j - E_i) [1/K]. For a Kramers ion the degenerate doublets
are merged (L = n/2, weight 2). Throws `ArgumentError` on mismatched sizes.
"""
function curie_and_van_vleck_terms(
    energies::AbstractMatrix{<:Real},
    strengths::AbstractArray{<:Real, 3},
    kramers::Bool,
)
    N, n = size(energies)
    if size(strengths) != (N, n, n)
        throw(ArgumentError(
            "strengths is $(size(strengths)), expected $((N, n, n)) for energies $((N, n))",
        ))
    end
    if kramers && isodd(n)
        throw(ArgumentError("a Kramers ion has an even number of levels, got $n"))
    end
    L = kramers ? n ÷ 2 : n
    ws = LevelWorkspace{Float64}(n)
    buf = ws.terms
    terms = VanVleckTerms(
        zeros(N, L),
        zeros(N, L),
        zeros(N, L),
        zeros(N, L),
        Int[],
        Float64[],
        Float64[],
        Float64[],
    )
    for s in 1:N
        for i in 1:n
            ws.energies[i] = energies[s, i]
        end
        for j in 1:n, i in 1:n
            ws.strengths[i, j] = strengths[s, i, j]
        end
        _, n_near = curie_and_van_vleck_terms!(ws, kramers)
        for l in 1:L
            terms.levels[s, l] = buf.levels[l]
            terms.weights[s, l] = buf.weights[l]
            terms.curie[s, l] = buf.curie[l]
            terms.vanvleck[s, l] = buf.vanvleck[l]
        end
        for p in 1:n_near
            push!(terms.near_set, s)
            push!(terms.near_energy, buf.near_energy[p])
            push!(terms.near_gap, buf.near_gap[p])
            push!(terms.near_strength, buf.near_strength[p])
        end
    end
    return terms
end

function curie_and_van_vleck_terms(
    energies::AbstractVector{<:Real},
    strengths::AbstractMatrix{<:Real},
    kramers::Bool,
)
    return curie_and_van_vleck_terms(
        reshape(energies, 1, :),
        reshape(strengths, 1, size(strengths)...),
        kramers,
    )
end

"""
    van_vleck_chi(terms, T, gJ) -> Matrix{Float64}

chi(T) [emu/mol] from the terms of `curie_and_van_vleck_terms`, N x length(T); T [K], gJ the
Lande factor (dimensionless). The near pairs of each set are added into its numerator.
"""
function van_vleck_chi(terms::VanVleckTerms, T::AbstractVector{<:Real}, gJ::Real)
    temps = check_temperatures(T)
    N, L = size(terms.levels)
    npairs = length(terms.near_set)
    if !(size(terms.weights) == size(terms.curie) == size(terms.vanvleck) == (N, L))
        throw(ArgumentError("levels, weights, curie and vanvleck must all be $((N, L))"))
    end
    pair_lengths = map(length, (terms.near_energy, terms.near_gap, terms.near_strength))
    all(==(npairs), pair_lengths) ||
        throw(ArgumentError("near_set and the other near_* vectors differ in length"))
    all(s -> 1 <= s <= N, terms.near_set) ||
        throw(ArgumentError("near_set holds set numbers outside 1:$N"))
    buf = VanVleckBuffers(L, npairs)
    out = zeros(N, length(temps))
    for s in 1:N
        for l in 1:L
            buf.levels[l] = terms.levels[s, l]
            buf.weights[l] = terms.weights[s, l]
            buf.curie[l] = terms.curie[s, l]
            buf.vanvleck[l] = terms.vanvleck[s, l]
        end
        n_near = 0
        for p in 1:npairs
            terms.near_set[p] == s || continue
            n_near += 1
            buf.near_energy[n_near] = terms.near_energy[p]
            buf.near_gap[n_near] = terms.near_gap[p]
            buf.near_strength[n_near] = terms.near_strength[p]
        end
        van_vleck_chi!(out, s, buf, L, n_near, temps, Float64(gJ))
    end
    return out
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
            L, n_near = curie_and_van_vleck_terms!(ws, kramers)
            van_vleck_chi!(out, s, ws.terms, L, n_near, temps, ion.gJ)
        end
    end
    return out
end
