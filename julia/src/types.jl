# The ion (ground J multiplet) and a batch of ligand-field parameter sets, as in
# python/ligandml/ions.py (Ion) and python/ligandml/parameters.py (StevensBatch).

"""
    Ion(name, J, gJ)
    Ion(J, gJ)

A magnetic ion in its ground J multiplet: total angular momentum J (a multiple of 1/2) and
Lande factor gJ (dimensionless). The basis is |J, m>, m = J, J-1, ..., -J.
"""
struct Ion
    name::String
    J::Float64
    gJ::Float64
    function Ion(name::AbstractString, J::Real, gJ::Real)
        dimension(J) # throws unless J is a non-negative multiple of 1/2
        isfinite(gJ) || throw(ArgumentError("gJ must be a finite number, got $gJ"))
        return new(String(name), Float64(J), Float64(gJ))
    end
end

Ion(J::Real, gJ::Real) = Ion("custom", J, gJ)

"""
    dimension(ion) -> Int

Dimension 2J+1 of the ground multiplet.
"""
dimension(ion::Ion) = dimension(ion.J)

"""
    iskramers(ion) -> Bool

True for half-integer J (every zero-field level is at least a doublet).
"""
iskramers(ion::Ion) = iseven(dimension(ion))

"""
    StevensBatch(terms, coeffs)
    StevensBatch(ks, qs, coeffs)

N parameter sets as Stevens coefficients in kelvin: `terms` holds the (k, q) of each column of
`coeffs`, an N x P matrix [K] (the same layout as the NumPy StevensBatch: one row per set).
Throws `ArgumentError` for invalid (k, q), a size mismatch or non-finite coefficients.
"""
struct StevensBatch
    terms::Vector{Tuple{Int, Int}}
    coeffs::Matrix{Float64}
    function StevensBatch(terms::Vector{Tuple{Int, Int}}, coeffs::Matrix{Float64})
        if size(coeffs, 2) != length(terms)
            throw(ArgumentError(
                "coeffs has $(size(coeffs, 2)) columns for $(length(terms)) terms",
            ))
        end
        for (k, q) in terms
            check_kq(k, q)
        end
        if length(unique(terms)) != length(terms)
            throw(ArgumentError("a Stevens term is given twice in $terms"))
        end
        all(isfinite, coeffs) || throw(ArgumentError("coeffs contain NaN or Inf"))
        return new(terms, coeffs)
    end
end

function StevensBatch(
    ks::AbstractVector{<:Integer},
    qs::AbstractVector{<:Integer},
    coeffs::AbstractMatrix{<:Real},
)
    length(ks) == length(qs) || throw(ArgumentError("ks and qs differ in length"))
    terms = Tuple{Int, Int}[(Int(k), Int(q)) for (k, q) in zip(ks, qs)]
    return StevensBatch(terms, Matrix{Float64}(coeffs))
end

"""
    n_sets(batch) -> Int

Number of parameter sets N.
"""
n_sets(batch::StevensBatch) = size(batch.coeffs, 1)

"""
    all_q_even(batch) -> Bool

True when every term couples m only to m +- even (two m-parity blocks).
"""
all_q_even(batch::StevensBatch) = all(t -> iseven(t[2]), batch.terms)

"""
    persymmetric(batch) -> Bool

True for real cosine terms with even k and even q: the Hamiltonian is unchanged by m -> -m.
"""
persymmetric(batch::StevensBatch) = all(
    t -> iseven(t[2]) && t[2] >= 0 && iseven(t[1]),
    batch.terms,
)

"""
    isreal_batch(batch) -> Bool

True when the Hamiltonian is a real matrix (no sine-type q < 0 terms).
"""
isreal_batch(batch::StevensBatch) = all(t -> t[2] >= 0, batch.terms)

"""
    check_temperatures(T) -> Vector{Float64}

T [K] as a vector; throws `ArgumentError` if empty, non-finite or not > 0.
"""
function check_temperatures(T::AbstractVector{<:Real})
    temps = Vector{Float64}(T)
    isempty(temps) && throw(ArgumentError("T is empty"))
    all(isfinite, temps) || throw(ArgumentError("T contains NaN or Inf"))
    all(>(0), temps) ||
        throw(ArgumentError("T must be > 0 K everywhere (got min $(minimum(temps)) K)"))
    return temps
end

"""
    check_field(field_T) -> Float64

A measuring field [T]; throws `ArgumentError` unless it is finite and > 0.
"""
function check_field(field_T::Real)
    B = Float64(field_T)
    (isfinite(B) && B > 0) ||
        throw(ArgumentError("field must be finite and > 0 T, got $field_T"))
    return B
end
