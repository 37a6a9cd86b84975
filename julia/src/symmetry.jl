# Rotations of ligand-field parameters and site symmetry. Mirror of
# python/ligandml/rotations.py and python/ligandml/symmetry.py (allowed parameters); read them
# side by side.
#
# Convention (active, ZYZ): R = Rz(alpha) Ry(beta) Rz(gamma) acts on column vectors, and
# U(R) = exp(-i alpha Jz) exp(-i beta Jy) exp(-i gamma Jz) in the |J, m> basis. The rotated
# coefficients B' satisfy H_LF(B') = U H_LF(B) U', i.e. the ligand field itself turns by R.
# For each rank k, O_k^q = sum_p C_qp T_kp (T_kp the spherical tensor of operators.jl), and
# U T_kp U' = sum_p' T_kp' D^k_p'p, so B'_k = (C^T)^-1 D^k C^T B_k (q = -k..k, index q + k + 1).
# Improper matrices act on even-k terms as their proper part -R. Odd k is refused.

const ORTHOGONALITY_TOL = 1.0e-9

"""
    axis_rotation(axis, angle) -> Matrix{Float64}

Active rotation matrix by `angle` [rad] about the vector `axis` (right-hand rule).
"""
function axis_rotation(axis::AbstractVector{<:Real}, angle::Real)
    n = Vector{Float64}(axis) ./ norm(axis)
    K = [0.0 -n[3] n[2]; n[3] 0.0 -n[1]; -n[2] n[1] 0.0]
    return Matrix{Float64}(I, 3, 3) .+ sin(angle) .* K .+ (1 - cos(angle)) .* (K * K)
end

"""
    euler_to_matrix(alpha, beta, gamma) -> Matrix{Float64}

R = Rz(alpha) Ry(beta) Rz(gamma), angles in radians (active ZYZ).
"""
function euler_to_matrix(alpha::Real, beta::Real, gamma::Real)
    z = [0.0, 0.0, 1.0]
    return axis_rotation(z, alpha) *
        axis_rotation([0.0, 1.0, 0.0], beta) *
        axis_rotation(z, gamma)
end

"""
    proper_rotation(R) -> Matrix{Float64}

`R` if det R = +1, `-R` if det R = -1 (the action of an improper operation on even-k
tensors). Throws `ArgumentError` unless `R` is a finite orthogonal 3x3 matrix.
"""
function proper_rotation(R::AbstractMatrix{<:Real})
    size(R) == (3, 3) ||
        throw(ArgumentError("a rotation matrix must be 3x3, got $(size(R))"))
    all(isfinite, R) || throw(ArgumentError("rotation matrix contains NaN or Inf"))
    if maximum(abs, R * R' - I) > ORTHOGONALITY_TOL
        throw(ArgumentError("rotation matrix is not orthogonal (R R' != 1 to 1e-9)"))
    end
    return det(R) > 0 ? Matrix{Float64}(R) : -Matrix{Float64}(R)
end

"""
    matrix_to_euler(R) -> (alpha, beta, gamma)

ZYZ Euler angles [rad] of a rotation matrix, beta in [0, pi], accurate at gimbal lock: the
sum and difference of alpha and gamma come from the upper 2x2 block where it is large and from
atan(R[2,3], R[1,3]), atan(R[3,2], -R[3,1]) otherwise; the remaining shift of both by pi is
settled by comparing the two candidates with R.
"""
function matrix_to_euler(matrix::AbstractMatrix{<:Real})
    R = proper_rotation(matrix)
    sin_b = sqrt(max(0.0, (R[1, 3]^2 + R[2, 3]^2 + R[3, 1]^2 + R[3, 2]^2) / 2))
    beta = atan(sin_b, R[3, 3])
    alpha_1 = atan(R[2, 3], R[1, 3])
    gamma_1 = atan(R[3, 2], -R[3, 1])
    if R[3, 3] >= 0
        plus = atan(R[2, 1] - R[1, 2], R[1, 1] + R[2, 2])
        minus = alpha_1 - gamma_1
    else
        plus = alpha_1 + gamma_1
        minus = atan(-R[2, 1] - R[1, 2], R[2, 2] - R[1, 1])
    end
    alpha = (plus + minus) / 2
    gamma = (plus - minus) / 2
    error_kept = maximum(abs, euler_to_matrix(alpha, beta, gamma) - R)
    error_flipped = maximum(abs, euler_to_matrix(alpha + pi, beta, gamma + pi) - R)
    if error_flipped < error_kept
        alpha += pi
        gamma += pi
    end
    return alpha, beta, gamma
end

function as_euler(rotation::AbstractVector{<:Real})
    length(rotation) == 3 ||
        throw(ArgumentError("Euler angles are three numbers (alpha, beta, gamma)"))
    all(isfinite, rotation) || throw(ArgumentError("Euler angles must be finite"))
    return Float64(rotation[1]), Float64(rotation[2]), Float64(rotation[3])
end
as_euler(rotation::AbstractMatrix{<:Real}) = matrix_to_euler(rotation)

"""
    wigner_small_d(k, beta) -> Matrix{Float64}

Wigner d^k(beta) = <k p'|exp(-i beta Jy)|k p>, rows p' and columns p from -k to k (index
p + k + 1), by Wigner's sum formula.
"""
function wigner_small_d(k::Integer, beta::Real)
    c = cos(beta / 2)
    s = sin(beta / 2)
    d = zeros(2k + 1, 2k + 1)
    for mp in (-k):k, m in (-k):k
        norm_factor = sqrt(
            factorial(k + mp) * factorial(k - mp) * factorial(k + m) * factorial(k - m),
        )
        total = 0.0
        for t in max(0, m - mp):min(k + m, k - mp)
            denom = factorial(k + m - t) *
                factorial(t) *
                factorial(mp - m + t) *
                factorial(k - mp - t)
            total += (-1)^(mp - m + t) * c^(2k + m - mp - 2t) * s^(mp - m + 2t) / denom
        end
        d[mp + k + 1, m + k + 1] = norm_factor * total
    end
    return d
end

"""
    wigner_d(k, alpha, beta, gamma) -> Matrix{ComplexF64}

Wigner D^k_p'p = exp(-i p' alpha) d^k_p'p(beta) exp(-i p gamma), p', p = -k..k.
"""
function wigner_d(k::Integer, alpha::Real, beta::Real, gamma::Real)
    p = collect((-k):k)
    return exp.(-im .* p .* alpha) .*
        wigner_small_d(k, beta) .*
        transpose(exp.(-im .* p .* gamma))
end

"""
    stevens_to_tensor(k) -> Matrix{ComplexF64}

C with O_k^q = sum_p C[q+k+1, p+k+1] T_kp (q, p = -k..k).
"""
function stevens_to_tensor(k::Integer)
    C = zeros(ComplexF64, 2k + 1, 2k + 1)
    C[k + 1, k + 1] = stevens_leading_coefficient(k, 0) / leading_lambda(k, 0)
    for p in 1:k
        a = stevens_leading_coefficient(k, p) / (2 * leading_lambda(k, p))
        C[k + 1 + p, k + 1 + p] = a
        C[k + 1 + p, k + 1 - p] = a * (-1)^p
        C[k + 1 - p, k + 1 + p] = -im * a
        C[k + 1 - p, k + 1 - p] = im * a * (-1)^p
    end
    return C
end

"""
    stevens_rotation_matrix(k, rotation) -> Matrix{Float64}

Real (2k+1)x(2k+1) matrix M with B'_k = M B_k (q = -k..k) for the active rotation given as
ZYZ Euler angles [rad] (a 3-vector) or a 3x3 matrix. Throws `ArgumentError` for odd k.
"""
function stevens_rotation_matrix(k::Integer, rotation)
    if isodd(k)
        throw(ArgumentError("rank k = $k is odd: odd-k terms break time reversal"))
    end
    alpha, beta, gamma = as_euler(rotation)
    Ct = Matrix(transpose(stevens_to_tensor(k)))
    M = Ct \ (wigner_d(k, alpha, beta, gamma) * Ct)
    maximum(abs, imag(M)) <= 1.0e-9 * max(1.0, maximum(abs, real(M))) ||
        error("rotated Stevens coefficients came out complex: convention mismatch")
    return real(M)
end

"""
    rotate_batch(batch, rotation) -> StevensBatch

Every set of the batch [K] turned by the active rotation (Euler angles [rad] or a 3x3
matrix); the result holds all 2k+1 terms of each rank present, sorted by (k, q).
"""
function rotate_batch(batch::StevensBatch, rotation)
    N = n_sets(batch)
    ranks = sort(unique(first.(batch.terms)))
    terms = Tuple{Int, Int}[]
    blocks = Matrix{Float64}[]
    for k in ranks
        full = zeros(N, 2k + 1)
        for (i, (kk, q)) in enumerate(batch.terms)
            kk == k && (full[:, q + k + 1] = batch.coeffs[:, i])
        end
        push!(blocks, full * transpose(stevens_rotation_matrix(k, rotation)))
        append!(terms, [(k, q) for q in (-k):k])
    end
    coeffs = isempty(blocks) ? zeros(N, 0) : reduce(hcat, blocks)
    order = sortperm(terms)
    return StevensBatch(terms[order], coeffs[:, order])
end

# --------------------------------------------------------------------------------------------
# site symmetry: allowed parameters (python/ligandml/symmetry.py)
# --------------------------------------------------------------------------------------------
const SYMMETRY_RANKS = (2, 4, 6)

function point_group_generators()
    x, y, z = [1.0, 0.0, 0.0], [0.0, 1.0, 0.0], [0.0, 0.0, 1.0]
    inv = -Matrix{Float64}(I, 3, 3)
    c2x, c2y, c2z = axis_rotation(x, pi), axis_rotation(y, pi), axis_rotation(z, pi)
    c3z, c4z, c6z = axis_rotation(z, 2pi / 3),
        axis_rotation(z, pi / 2),
        axis_rotation(z, pi / 3)
    c3_111 = axis_rotation([1.0, 1.0, 1.0], 2pi / 3)
    mirror_xy = Matrix{Float64}(Diagonal([1.0, 1.0, -1.0]))
    mirror_xz = Matrix{Float64}(Diagonal([1.0, -1.0, 1.0]))
    s4z = mirror_xy * c4z
    return Dict{String, Vector{Matrix{Float64}}}(
        "C1" => Matrix{Float64}[],
        "Ci" => [inv],
        "C2" => [c2z],
        "Cs" => [mirror_xy],
        "C2h" => [c2z, inv],
        "D2" => [c2z, c2x],
        "C2v" => [c2z, mirror_xz],
        "D2h" => [c2z, c2x, inv],
        "C4" => [c4z],
        "S4" => [s4z],
        "C4h" => [c4z, inv],
        "D4" => [c4z, c2x],
        "C4v" => [c4z, mirror_xz],
        "D2d" => [s4z, c2x],
        "D4h" => [c4z, c2x, inv],
        "C3" => [c3z],
        "C3i" => [c3z, inv],
        "D3" => [c3z, c2y],
        "C3v" => [c3z, mirror_xz],
        "D3d" => [c3z, c2y, inv],
        "C6" => [c6z],
        "C3h" => [c3z, mirror_xy],
        "C6h" => [c6z, inv],
        "D6" => [c6z, c2x],
        "C6v" => [c6z, mirror_xz],
        "D3h" => [c3z, mirror_xy, c2x],
        "D6h" => [c6z, c2x, inv],
        "T" => [c2z, c2x, c3_111],
        "Th" => [c2z, c2x, c3_111, inv],
        "O" => [c4z, c3_111],
        "Td" => [s4z, c3_111],
        "Oh" => [c4z, c3_111, inv],
    )
end

"""
    POINT_GROUP_GENERATORS

Generators of the 32 crystallographic point groups (Schoenflies names as Mantid spells them)
in the standard settings of python/ligandml/symmetry.py (z along the main axis; D3d: x in a
mirror plane, i.e. the twofold axis along y).
"""
const POINT_GROUP_GENERATORS = point_group_generators()

function check_point_group(group::AbstractString)
    haskey(POINT_GROUP_GENERATORS, group) ||
        throw(ArgumentError(
            "unknown point group $(repr(group)); use a Schoenflies name as Mantid spells it",
        ))
    return String(group)
end

"""
    proper_rotations(group) -> Vector{Matrix{Float64}}

The distinct proper parts det(g) g of the group's elements, by closure of the generators.
"""
function proper_rotations(group::AbstractString)
    generators = [det(g) .* g for g in POINT_GROUP_GENERATORS[check_point_group(group)]]
    elements = [Matrix{Float64}(I, 3, 3)]
    frontier = copy(elements)
    while !isempty(frontier)
        fresh = Matrix{Float64}[]
        for a in frontier, g in generators
            candidate = g * a
            if !any(e -> maximum(abs, candidate - e) < 1.0e-9, elements)
                push!(elements, candidate)
                push!(fresh, candidate)
            end
        end
        frontier = fresh
    end
    return elements
end

"""
    invariant_projector(group, k) -> Matrix{Float64}

P_k = (1/|G|) sum_g M_k(g): the projector onto the rank-k coefficients (q = -k..k) the group
leaves unchanged.
"""
function invariant_projector(group::AbstractString, k::Integer)
    rotations = proper_rotations(group)
    return sum(stevens_rotation_matrix(k, R) for R in rotations) ./ length(rotations)
end

name_order(t::Tuple{Int, Int}) = (t[1], abs(t[2]), t[2] < 0 ? 1 : 0)

function reduced_row_echelon(A::AbstractMatrix{Float64})
    A = copy(A)
    pivot_row = 1
    for col in axes(A, 2)
        pivot_row > size(A, 1) && break
        best = pivot_row - 1 + argmax(abs.(A[pivot_row:end, col]))
        abs(A[best, col]) < 1.0e-9 && continue
        A[[pivot_row, best], :] = A[[best, pivot_row], :]
        A[pivot_row, :] ./= A[pivot_row, col]
        for r in axes(A, 1)
            r != pivot_row && (A[r, :] .-= A[r, col] .* A[pivot_row, :])
        end
        pivot_row += 1
    end
    rows = A[1:(pivot_row - 1), :]
    rows[abs.(rows) .< 1.0e-12] .= 0.0
    return rows
end

"""
    allowed_parameters(group) -> (terms, ratios)

The Stevens terms (k, q), k = 2, 4, 6, that a site of this point group allows in its standard
setting, sorted by (k, |q|, sine after cosine), and the fixed ratios of the cubic groups as
(dependent (k, q), free (k, q), factor) with B_dependent = factor * B_free.
"""
function allowed_parameters(group::AbstractString)
    terms = Tuple{Int, Int}[]
    ratios = Tuple{Tuple{Int, Int}, Tuple{Int, Int}, Float64}[]
    for k in SYMMETRY_RANKS
        P = invariant_projector(group, k)
        order = sort([(k, q) for q in (-k):k]; by = name_order)
        idx = [q + k + 1 for (_, q) in order]
        basis = reduced_row_echelon(Matrix(transpose(P[idx, idx])))
        for r in axes(basis, 1)
            support = findall(v -> abs(v) > 1.0e-9, basis[r, :])
            append!(terms, order[support])
            for j in support[2:end]
                push!(ratios, (order[j], order[support[1]], basis[r, j]))
            end
        end
    end
    return sort(terms; by = name_order), ratios
end
