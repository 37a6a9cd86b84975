# Finite field: magnetisation and the powder average of M/B. Mirror of the second half of
# python/ligandml/susceptibility.py.
#
# The powder value is M/B averaged over field directions n on the sphere; M(n) = -gJ <n.J>
# (muB per ion) with H = H_LF + gJ muB B n.J. Time reversal gives M(-n) = -M(n) for the moment,
# so the projection on the field is the same for n and -n and only one point of each antipodal
# pair is used. The directions and weights (a Lebedev rule, one hemisphere, weights summing to
# 1) are passed in by the caller: ligandml's Python side takes them from
# scipy.integrate.lebedev_rule (susceptibility.lebedev_hemisphere), so both backends average
# over the identical grid.
#
# Threads over parameter sets; when there are fewer sets than chunks (one curve, a fit), over
# directions instead, each chunk summing into its own accumulator, added up at the end.
# Allocation: as in susceptibility.jl, only LAPACK's eigen! allocates (per set and direction).

"""
    MomentWorkspace(n)

Buffers for one (set, direction) eigensolve of dimension n. One per task.
"""
struct MomentWorkspace
    H::Matrix{ComplexF64}     # ligand-field Hamiltonian of the current set
    h_tot::Matrix{ComplexF64} # H + Zeeman
    moved::Matrix{ComplexF64} # (n.J) V
    moments::Vector{Float64}  # -gJ <i|n.J|i> [muB]
end

MomentWorkspace(n::Integer) = MomentWorkspace(
    zeros(ComplexF64, n, n),
    zeros(ComplexF64, n, n),
    zeros(ComplexF64, n, n),
    zeros(n),
)

"""
    accumulate_direction!(acc, s, ws, ndotj, zeeman_scale, gJ, weight, T)

Diagonalise H_LF + zeeman_scale (n.J) for the set whose Hamiltonian is in `ws.H`, and add
`weight` times the thermal average of the moment along n [muB] to row `s` of `acc` (one
column per temperature [K]).
"""
function accumulate_direction!(
    acc::Matrix{Float64},
    s::Integer,
    ws::MomentWorkspace,
    ndotj::Matrix{ComplexF64},
    zeeman_scale::Float64,
    gJ::Float64,
    weight::Float64,
    T::Vector{Float64},
)
    n = size(ws.H, 1)
    @inbounds for j in 1:n, i in 1:n
        ws.h_tot[i, j] = ws.H[i, j] + zeeman_scale * ndotj[i, j]
    end
    F = eigen!(Hermitian(ws.h_tot))
    E = F.values
    V = F.vectors
    mul!(ws.moved, ndotj, V)
    # <i|n.J|i> = sum over rows r of conj(V[r, i]) ((n.J) V)[r, i], as the NumPy reference
    @inbounds for i in 1:n
        expect = 0.0
        for r in 1:n
            expect += real(conj(V[r, i]) * ws.moved[r, i])
        end
        ws.moments[i] = -gJ * expect
    end
    emin = minimum(E)
    @inbounds for t in eachindex(T)
        temp = T[t]
        z = 0.0
        m = 0.0
        for l in 1:n
            b = exp(-(E[l] - emin) / temp)
            z += b
            m += b * ws.moments[l]
        end
        acc[s, t] += weight * (m / z)
    end
    return acc
end

"""
    powder_moment(ion, batch, field_T, T, directions, weights; nchunks=Threads.nthreads())

Powder-averaged moment along the field, M [muB per ion], N x length(T), at `field_T` tesla and
temperatures T [K]. `directions` (P x 3 unit vectors, one per antipodal pair) and `weights`
(P, summing to 1) define the orientation average; ligandml passes the Lebedev hemisphere of
susceptibility.lebedev_hemisphere. Threads over sets, or over directions when N < nchunks.
"""
function powder_moment(
    ion::Ion,
    batch::StevensBatch,
    field_T::Real,
    T::AbstractVector{<:Real},
    directions::AbstractMatrix{<:Real},
    weights::AbstractVector{<:Real};
    nchunks::Integer = Threads.nthreads(),
)
    temps = check_temperatures(T)
    B = check_field(field_T)
    dirs = Matrix{Float64}(directions)
    w = Vector{Float64}(weights)
    if size(dirs, 2) != 3 || size(dirs, 1) != length(w) || isempty(w)
        throw(ArgumentError(
            "directions must be P x 3 and weights P long (P >= 1), got " *
                "$(size(dirs)) and $(length(w))",
        ))
    end
    out = zeros(n_sets(batch), length(temps))
    (dimension(ion) < 2 || ion.gJ == 0.0) && return out
    with_single_threaded_blas() do
        powder_moment!(out, ion, batch, B, temps, dirs, w, nchunks)
    end
    return out
end

function powder_moment!(
    out::Matrix{Float64},
    ion::Ion,
    batch::StevensBatch,
    B::Float64,
    temps::Vector{Float64},
    dirs::Matrix{Float64},
    w::Vector{Float64},
    nchunks::Integer,
)
    n = dimension(ion)
    N = n_sets(batch)
    ops = typed_operators(ion.J, batch.terms, ComplexF64)
    ndotj = direction_operators(ion.J, dirs)
    zeeman_scale = ion.gJ * MU_B_OVER_K_B * B
    coeffs = batch.coeffs
    gJ = ion.gJ
    if N >= nchunks
        foreach_chunk(chunk_ranges(N, nchunks)) do _, sets
            ws = MomentWorkspace(n)
            for s in sets
                ligand_field_hamiltonian!(ws.H, ops, coeffs, s)
                for p in eachindex(w)
                    accumulate_direction!(
                        out,
                        s,
                        ws,
                        ndotj[p],
                        zeeman_scale,
                        gJ,
                        w[p],
                        temps,
                    )
                end
            end
        end
    else
        ranges = chunk_ranges(length(w), nchunks)
        partial = [zeros(N, length(temps)) for _ in ranges]
        foreach_chunk(ranges) do c, points
            ws = MomentWorkspace(n)
            acc = partial[c]
            for s in 1:N
                ligand_field_hamiltonian!(ws.H, ops, coeffs, s)
                for p in points
                    accumulate_direction!(
                        acc,
                        s,
                        ws,
                        ndotj[p],
                        zeeman_scale,
                        gJ,
                        w[p],
                        temps,
                    )
                end
            end
        end
        for acc in partial
            out .+= acc
        end
    end
    return out
end

"""
    moment_to_chi(moment_muB, field_T)

M/H [emu/mol] from a moment in muB per ion at a field in tesla (elementwise).
"""
moment_to_chi(moment_muB, field_T::Real) = moment_muB .*
    MU_B_PER_ION_IN_EMU_PER_MOL ./
    (field_T * OERSTED_PER_TESLA)

"""
    finite_field_chi(ion, batch, field_T, T, directions, weights; nchunks) -> Matrix{Float64}

Orientation-averaged M/B [emu/mol per ion] at `field_T` tesla, N x length(T); T [K].
"""
function finite_field_chi(
    ion::Ion,
    batch::StevensBatch,
    field_T::Real,
    T::AbstractVector{<:Real},
    directions::AbstractMatrix{<:Real},
    weights::AbstractVector{<:Real};
    nchunks::Integer = Threads.nthreads(),
)
    moment = powder_moment(ion, batch, field_T, T, directions, weights; nchunks = nchunks)
    return moment_to_chi(moment, field_T)
end

"""
    powder_magnetization(ion, batch, B, T, directions, weights; nchunks) -> Array{Float64,3}

Powder-averaged magnetisation M [muB per ion] along the field, N x length(B) x length(T), for
fields B [T] and temperatures T [K].
"""
function powder_magnetization(
    ion::Ion,
    batch::StevensBatch,
    B::AbstractVector{<:Real},
    T::AbstractVector{<:Real},
    directions::AbstractMatrix{<:Real},
    weights::AbstractVector{<:Real};
    nchunks::Integer = Threads.nthreads(),
)
    isempty(B) && throw(ArgumentError("B is empty: give at least one field in tesla"))
    out = zeros(n_sets(batch), length(B), length(T))
    for (i, b) in enumerate(B)
        out[:, i, :] .= powder_moment(
            ion,
            batch,
            b,
            T,
            directions,
            weights;
            nchunks = nchunks,
        )
    end
    return out
end
