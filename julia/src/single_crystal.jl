# Symmetry-folded orientation grids, single-crystal directions and batched M(H). Mirror of
# python/ligandml/orientations.py (the grids) and python/ligandml/finite_field.py (grid_moments,
# grid_density, powder_magnetization_table, crystal_magnetization_table), same names.
#
# The integrand f(n) = <M(n)>.n has f(-n) = f(n) (time reversal); if every term with a non-zero
# coefficient has q divisible by p, f is periodic in phi with period 2 pi / p (p = 0: only q = 0,
# f independent of phi); if no sine-type term (q < 0) is non-zero, H_LF is real and
# f(z, -phi) = f(z, phi). The folded grid is the full product rule (Gauss-Legendre in z with
# 2 n_theta nodes, times phi_j = 2 pi j / n_phi) mapped onto the wedge z > 0,
# 0 <= phi <= pi / p, duplicates merged: it gives the number the full rule gives.
# NumPy solves the points that a rotation about z maps onto the xz plane in real arithmetic;
# here every point takes the complex route (the same numbers to rounding).

"""
    AxisSymmetry(rotation_order, mirror)

Symmetry of the orientation integrand about z: period 2 pi / rotation_order in phi (0: none
needed, 1: no axis) and the mirror f(z, -phi) = f(z, phi).
"""
struct AxisSymmetry
    rotation_order::Int
    mirror::Bool
end

"""
    isreducible(sym) -> Bool

True when the folded product grid applies (p = 0 or p >= 2).
"""
isreducible(sym::AxisSymmetry) = sym.rotation_order != 1

"""
    integrand_symmetry(batch) -> AxisSymmetry

The symmetry shared by every set of the batch; terms that are zero in every set are ignored.
"""
function integrand_symmetry(batch::StevensBatch)
    p = 0
    mirror = true
    for (i, (_, q)) in enumerate(batch.terms)
        any(!iszero, view(batch.coeffs, :, i)) || continue
        p = gcd(p, abs(q))
        mirror &= q >= 0
    end
    return AxisSymmetry(p, mirror)
end

"""
    gauss_legendre(n) -> (nodes, weights)

Gauss-Legendre rule on [-1, 1] with n nodes (Golub-Welsch: eigenvalues of the Jacobi matrix),
nodes ascending, weights summing to 2.
"""
function gauss_legendre(n::Integer)
    n >= 1 || throw(ArgumentError("Gauss-Legendre needs n >= 1, got $n"))
    beta = [k / sqrt(4.0 * k^2 - 1.0) for k in 1:(n - 1)]
    F = eigen(SymTridiagonal(zeros(n), beta))
    return F.values, 2.0 .* F.vectors[1, :].^2
end

"""
    full_product_grid(n_theta, n_phi) -> (z, phi, weights)

Gauss-Legendre in z with 2 n_theta nodes times phi_j = 2 pi j / n_phi [rad]; weights sum to 1.
"""
function full_product_grid(n_theta::Integer, n_phi::Integer)
    (n_theta >= 1 && n_phi >= 1) ||
        throw(ArgumentError(
            "product grid needs n_theta >= 1 and n_phi >= 1, got $n_theta, $n_phi",
        ))
    zs, wz = gauss_legendre(2 * n_theta)
    phis = [2pi * j / n_phi for j in 0:(n_phi - 1)]
    z = vec([zi for zi in zs, _ in phis])
    phi = vec([pj for _ in zs, pj in phis])
    w = vec([wi / 2 / n_phi for wi in wz, _ in phis])
    return z, phi, w
end

function fold_point(z::Float64, phi::Float64, sym::AxisSymmetry)
    if z < 0
        z, phi = -z, phi + pi
    end
    p = sym.rotation_order
    p == 0 && return z, 0.0
    period = 2pi / p
    phi = mod(phi, period)
    isapprox(phi, period; atol = 1.0e-12) && (phi = 0.0)
    sym.mirror && (phi = min(phi, period - phi))
    return z, phi
end

unit_vector(z, phi) = (s = sqrt(max(0.0, 1 - z^2)); [s * cos(phi), s * sin(phi), z])

"""
    reduced_product_grid(sym, n_theta, n_phi) -> (directions, weights)

The full product rule with 2 n_theta z-nodes and 2 p n_phi angles folded onto the symmetric wedge;
directions P x 3, weights summing to 1, sorted by (z, phi) as the NumPy reference.
"""
function reduced_product_grid(sym::AxisSymmetry, n_theta::Integer, n_phi::Integer)
    p = sym.rotation_order
    p == 1 &&
        throw(ArgumentError(
            "the reduced product grid needs a rotation axis (p = 0 or p >= 2)",
        ))
    z, phi, w = full_product_grid(n_theta, p == 0 ? 1 : 2 * p * n_phi)
    merged = Dict{Tuple{Int, Int}, Tuple{Float64, Float64, Float64}}()
    for i in eachindex(w)
        zf, pf = fold_point(z[i], phi[i], sym)
        key = (round(Int, zf * 1.0e9), round(Int, pf * 1.0e9))
        old = get(merged, key, (zf, pf, 0.0))
        merged[key] = (old[1], old[2], old[3] + w[i])
    end
    keys_sorted = sort(collect(keys(merged)))
    dirs = reduce(vcat, [unit_vector(merged[k][1], merged[k][2])' for k in keys_sorted])
    weights = [merged[k][3] for k in keys_sorted]
    return dirs, weights ./ sum(weights)
end

"""
    plane_grid(sym, n_phi, n_plane) -> (directions, weights)

In-plane directions (z = 0) for the average over the in-plane angle: one for p = 0; the
trapezoid rule on [0, pi / p] with n_phi intervals (ends at half weight) with the mirror; 2 n_phi
angles over one period without it; n_plane angles on [0, pi) without a rotation axis.
"""
function plane_grid(sym::AxisSymmetry, n_phi::Integer, n_plane::Integer)
    p = sym.rotation_order
    if p == 0
        phi, w = [0.0], [1.0]
    elseif p >= 2 && sym.mirror
        phi = [pi / p * j / n_phi for j in 0:n_phi]
        w = ones(n_phi + 1)
        w[1] = w[end] = 0.5
    else
        count = p >= 2 ? 2 * n_phi : n_plane
        span = p >= 2 ? 2pi / p : pi
        phi = [span * j / count for j in 0:(count - 1)]
        w = ones(count)
    end
    dirs = reduce(vcat, [unit_vector(0.0, f)' for f in phi])
    return dirs, w ./ sum(w)
end

"""
    single_direction(direction) -> Vector{Float64}

"x", "y", "z" or a non-zero 3-vector (normalised) as a unit vector.
"""
function single_direction(direction::AbstractString)
    axes = Dict("x" => [1.0, 0.0, 0.0], "y" => [0.0, 1.0, 0.0], "z" => [0.0, 0.0, 1.0])
    key = lowercase(strip(direction))
    haskey(axes, key) ||
        throw(ArgumentError(
            "direction must be 'x', 'y', 'z', 'plane' or a 3-vector, got $(repr(direction))",
        ))
    return axes[key]
end

function single_direction(direction::AbstractVector{<:Real})
    v = Vector{Float64}(direction)
    (length(v) == 3 && all(isfinite, v) && norm(v) > 0) ||
        throw(ArgumentError(
            "a field direction must be a finite non-zero 3-vector, got $direction",
        ))
    return v ./ norm(v)
end

"""
    grid_density(ion, field_T, T_min, rotation_order=3) -> (n_theta, n_phi)

Folded-grid size for fields up to field_T [T] at temperatures down to T_min [K], from
r = gJ muB J B / (k_B T): n_phi = max(2, ceil(r / 3.3)) (times 1.5 for p = 2), n_theta = 6 for
r <= 3.3, else 4 n_phi (calibration: finite_field.grid_density).
"""
function grid_density(ion::Ion, field_T::Real, T_min::Real, rotation_order::Integer = 3)
    r = abs(ion.gJ) * MU_B_OVER_K_B * ion.J * field_T / T_min
    n_phi = max(2, ceil(Int, r / 3.3))
    n_theta = r <= 3.3 ? 6 : 4 * n_phi
    rotation_order == 2 && (n_phi = ceil(Int, 1.5 * n_phi))
    return n_theta, n_phi
end

"""
    grid_moments(ion, batch, fields, T, directions, weights; nchunks) -> Array{Float64,3}

Weighted sum over the directions (P x 3, weights summing to 1) of the thermal moment along the
field, M [muB per ion], N x length(fields) x length(T), for fields [T] and temperatures [K].
"""
function grid_moments(
    ion::Ion,
    batch::StevensBatch,
    fields::AbstractVector{<:Real},
    T::AbstractVector{<:Real},
    directions::AbstractMatrix{<:Real},
    weights::AbstractVector{<:Real};
    nchunks::Integer = Threads.nthreads(),
)
    # the same weighted sum as powder_magnetization, on any grid (folded, plane, one direction)
    return powder_magnetization(
        ion,
        batch,
        fields,
        T,
        directions,
        weights;
        nchunks = nchunks,
    )
end

"""
    powder_magnetization_table(ion, batch, fields, T; nchunks) -> Array{Float64,3}

Powder moment [muB per ion], N x length(fields) x length(T), on the folded grid of
grid_density (at minimum(T)) for each field when the batch's symmetry allows it, else on the
Lebedev hemisphere passed as `lebedev` = (directions, weights).
"""
function powder_magnetization_table(
    ion::Ion,
    batch::StevensBatch,
    fields::AbstractVector{<:Real},
    T::AbstractVector{<:Real};
    lebedev = nothing,
    nchunks::Integer = Threads.nthreads(),
)
    sym = integrand_symmetry(batch)
    if !isreducible(sym)
        lebedev === nothing &&
            throw(ArgumentError(
                "this batch has no rotation axis: pass lebedev = (directions, weights)",
            ))
        return grid_moments(ion, batch, fields, T, lebedev...; nchunks = nchunks)
    end
    out = zeros(n_sets(batch), length(fields), length(T))
    for (i, b) in enumerate(fields)
        n_theta, n_phi = grid_density(ion, b, minimum(T), sym.rotation_order)
        dirs, w = reduced_product_grid(sym, n_theta, n_phi)
        out[:, i:i, :] .= grid_moments(ion, batch, [b], T, dirs, w; nchunks = nchunks)
    end
    return out
end

"""
    crystal_magnetization_table(ion, batch, fields, T, direction; n_phi=2, n_plane=48, nchunks)

Single-crystal moment [muB per ion], N x length(fields) x length(T): direction "x", "y", "z",
a 3-vector, or "plane" (average over the in-plane angle perpendicular to z).
"""
function crystal_magnetization_table(
    ion::Ion,
    batch::StevensBatch,
    fields::AbstractVector{<:Real},
    T::AbstractVector{<:Real},
    direction;
    n_phi::Integer = 2,
    n_plane::Integer = 48,
    nchunks::Integer = Threads.nthreads(),
)
    if direction isa AbstractString && lowercase(strip(direction)) == "plane"
        dirs, w = plane_grid(integrand_symmetry(batch), n_phi, n_plane)
    else
        dirs, w = reshape(single_direction(direction), 1, 3), [1.0]
    end
    return grid_moments(ion, batch, fields, T, dirs, w; nchunks = nchunks)
end
