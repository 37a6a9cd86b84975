# Stevens parameters from a structure: the point-charge model, Newman's superposition model, the
# XYZ reader, the Ln3+ tables (<r^k>, Stevens factors) and the exact 3j/6j algebra that
# recomputes the Stevens factors from Hund's rules.
# Mirror of python/ligandml/ln_tables.py, racah.py, coordination.py and structure_models.py;
# read them side by side (same names, same formulas; the derivations are in the Python
# docstrings). Standard library only.
#
#   B_k^q (point charge) = -E_h theta_k <r^k> sum_i q_i (a0/R_i)^(k+1) w_kq f_kq(n_i)      [K]
#   B_k^q (superposition) = theta_k sum_i b_k (R0_i/R_i)^t_k K_kq(n_i),  K_kq = a_k w_kq f_kq
#
# f_kq: the polynomial whose operator equivalent is theta_k <r^k> O_k^q (Hutchings 1964);
# w_kq: weights of the addition theorem P_k(n1.n2) = sum_q w_kq f_kq(n1) f_kq(n2);
# a_k = 2, 8, 16 (K_k0 = P_k(cos theta)). Charges in units of |e|, negative for anions;
# positions in angstrom relative to the ion.

export radial_integral, stevens_factor, stevens_factor_exact, stevens_factor_from_hund
export wigner_3j, wigner_6j, stevens_polynomial, addition_weight, coordination_factor
export point_charge_parameters, point_charge_intrinsic, superposition_parameters, read_xyz

# ---------------------------------------------------------------- tables (ln_tables.py)

#: trivalent lanthanides with an open 4f shell, Ce3+ = 4f^1 .. Yb3+ = 4f^13
const LANTHANIDE_SYMBOLS = (
    "Ce",
    "Pr",
    "Nd",
    "Pm",
    "Sm",
    "Eu",
    "Gd",
    "Tb",
    "Dy",
    "Ho",
    "Er",
    "Tm",
    "Yb",
)
#: ranks of the 4f ligand field
const RANKS = (2, 4, 6)

#: <r^2>, <r^4>, <r^6> [a0^k], Freeman & Desclaux, J. Magn. Magn. Mater. 12, 11 (1979), Dirac-Fock
const RADIAL_FREEMAN_DESCLAUX = Dict(
    "Ce" => (1.309, 3.964, 23.31),
    "Pr" => (1.1963, 3.3335, 18.353),
    "Nd" => (1.114, 2.91, 15.03),
    "Pm" => (1.0353, 2.539, 12.546),
    "Sm" => (0.9743, 2.26, 10.55),
    "Eu" => (0.9175, 2.02, 9.039),
    "Gd" => (0.8671, 1.82, 7.831),
    "Tb" => (0.822, 1.651, 6.852),
    "Dy" => (0.7814, 1.505, 6.048),
    "Ho" => (0.7446, 1.379, 5.379),
    "Er" => (0.7111, 1.27, 4.816),
    "Tm" => (0.6804, 1.174, 4.34),
    "Yb" => (0.6522, 1.089, 3.932),
)

#: (<r^k>, shielding sigma_k), Edvardsson & Klintenberg, J. Alloys Compd. 275-277, 230 (1998)
const RADIAL_EDVARDSSON_KLINTENBERG = Dict(
    "Ce" => ((1.456, 5.437, 42.26), (0.51, 0.0132, -0.0294)),
    "Pr" => ((1.327, 4.537, 32.65), (0.515, 0.0138, -0.0301)),
    "Nd" => ((1.222, 3.875, 26.12), (0.518, 0.013, -0.031)),
    "Pm" => ((1.135, 3.366, 21.46), (0.519, 0.0109, -0.0314)),
    "Sm" => ((1.061, 2.964, 17.99), (0.519, 0.0077, -0.0317)),
    "Eu" => ((0.997, 2.638, 15.34), (0.52, 0.0033, -0.0319)),
    "Gd" => ((0.942, 2.381, 13.36), (0.521, -0.0031, -0.0318)),
    "Tb" => ((0.893, 2.163, 11.75), (0.523, -0.0107, -0.0318)),
    "Dy" => ((0.849, 1.977, 10.44), (0.527, -0.0199, -0.0316)),
    "Ho" => ((0.81, 1.816, 9.345), (0.534, -0.0306, -0.0313)),
    "Er" => ((0.773, 1.677, 8.431), (0.544, -0.0427, -0.031)),
    "Tm" => ((0.74, 1.555, 7.659), (0.554, -0.0567, -0.0306)),
    "Yb" => ((0.71, 1.448, 7.003), (0.571, -0.0725, -0.03)),
)

#: (alpha_J, beta_J, gamma_J), Stevens (1952) / Hutchings (1964) Table VI, exact
const STEVENS_FACTORS = Dict(
    "Ce" => (-2 // 35, 2 // 315, 0 // 1),
    "Pr" => (-52 // 2475, -4 // 5445, 272 // 4459455),
    "Nd" => (-7 // 1089, -136 // 467181, -1615 // 42513471),
    "Pm" => (14 // 1815, 952 // 2335905, 2584 // 42513471),
    "Sm" => (13 // 315, 26 // 10395, 0 // 1),
    "Eu" => (0 // 1, 0 // 1, 0 // 1),
    "Gd" => (0 // 1, 0 // 1, 0 // 1),
    "Tb" => (-1 // 99, 2 // 16335, -1 // 891891),
    "Dy" => (-2 // 315, -8 // 135135, 4 // 3864861),
    "Ho" => (-1 // 450, -1 // 30030, -5 // 3864861),
    "Er" => (4 // 1575, 2 // 45045, 8 // 3864861),
    "Tm" => (1 // 99, 8 // 49005, -5 // 891891),
    "Yb" => (2 // 63, -2 // 1155, 4 // 27027),
)

"""
    lanthanide_symbol(name) -> String

Element symbol ("Er") of a trivalent lanthanide named "Er3+", "er", "Er(III)" or "Er".
Throws `ArgumentError` for anything else, listing the valid names.
"""
function lanthanide_symbol(name::AbstractString)
    m = match(r"^\s*([A-Za-z]{1,2})\s*(?:3\+|\+3|\(III\)|III)?\s*$", name)
    symbol = m === nothing ? "" : uppercasefirst(lowercase(m.captures[1]))
    if !(symbol in LANTHANIDE_SYMBOLS)
        valid = join(string.(LANTHANIDE_SYMBOLS, "3+"), ", ")
        throw(ArgumentError("unknown ion $(repr(name)); valid names: $valid"))
    end
    return symbol
end

function rank_index(k::Integer)
    k in RANKS ||
        throw(ArgumentError("rank k must be 2, 4 or 6 (the 4f ligand field), got $k"))
    return k ÷ 2
end

"""
    radial_integral(ion, k; table = "freeman-desclaux") -> Float64

<r^k> of the 4f shell [a0^k], k = 2, 4, 6: Freeman & Desclaux (1979) Dirac-Fock values, or
`table = "edvardsson-klintenberg"`: Edvardsson & Klintenberg (1998) times their shielding
1 - sigma_k (PyCrystalField's values).
"""
function radial_integral(
    ion::AbstractString,
    k::Integer;
    table::AbstractString = "freeman-desclaux",
)
    symbol = lanthanide_symbol(ion)
    i = rank_index(k)
    if table == "freeman-desclaux"
        return RADIAL_FREEMAN_DESCLAUX[symbol][i]
    elseif table == "edvardsson-klintenberg"
        rk, sigma = RADIAL_EDVARDSSON_KLINTENBERG[symbol]
        return rk[i] * (1.0 - sigma[i])
    end
    throw(ArgumentError(
        "unknown radial-integral table $(repr(table)); use freeman-desclaux, edvardsson-klintenberg",
    ))
end

"""
    stevens_factor_exact(ion, k) -> Rational{Int}

Stevens factor theta_k (alpha_J, beta_J, gamma_J for k = 2, 4, 6), exact (Hutchings Table VI).
"""
stevens_factor_exact(ion::AbstractString, k::Integer) = STEVENS_FACTORS[lanthanide_symbol(
    ion,
)][rank_index(k)]

"""
    stevens_factor(ion, k) -> Float64

Stevens factor theta_k of the ground multiplet (dimensionless).
"""
stevens_factor(ion::AbstractString, k::Integer) = Float64(stevens_factor_exact(ion, k))

# ---------------------------------------------------------------- exact 3j / 6j (racah.py)

"""
    SignedSqrt(sign, square)

The exact number sign * sqrt(square), square a non-negative Rational{BigInt}: the form of every
3j and 6j symbol.
"""
struct SignedSqrt
    sign::Int
    square::Rational{BigInt}
end

Base.:*(a::SignedSqrt, b::SignedSqrt) = SignedSqrt(a.sign * b.sign, a.square * b.square)
function Base.:/(a::SignedSqrt, b::SignedSqrt)
    b.sign == 0 && throw(DivideError())
    return SignedSqrt(a.sign * b.sign, a.square / b.square)
end
Base.Float64(a::SignedSqrt) = a.sign * sqrt(Float64(a.square))
signed_sqrt_of(x::Real) = SignedSqrt(Int(sign(x)), Rational{BigInt}(x)^2)

"""
    exact_rational(a::SignedSqrt) -> Rational{BigInt}

The value as a rational; throws `ArgumentError` if it is not rational.
"""
function exact_rational(a::SignedSqrt)
    n, d = numerator(a.square), denominator(a.square)
    rn, rd = isqrt(n), isqrt(d)
    (rn^2 == n && rd^2 == d) || throw(ArgumentError("sqrt($(a.square)) is not rational"))
    return a.sign * (rn // rd)
end

twice_j(j::Real) = (
    t = 2 * Rational{BigInt}(j);
    denominator(t) == 1 ?
        Int(numerator(t)) :
        throw(ArgumentError("angular momentum must be a multiple of 1/2, got $j"))
)

function fact_half(twice_n::Integer)
    (iseven(twice_n) && twice_n >= 0) ||
        throw(ArgumentError("factorial of a negative or half-integer argument"))
    return factorial(big(twice_n ÷ 2))
end

sign_half(twice_exponent::Integer) = iseven(twice_exponent) ?
    (iseven(twice_exponent ÷ 2) ? 1 : -1) :
    throw(ArgumentError("phase with a half-integer exponent"))

function triangle(a::Int, b::Int, c::Int)
    (isodd(a + b + c) || a + b < c || a + c < b || b + c < a) && return nothing
    return fact_half(a + b - c) *
        fact_half(a - b + c) *
        fact_half(-a + b + c) // fact_half(a + b + c + 2)
end

function from_sum(prefactor, total, s::Int = 1)
    iszero(total) && return SignedSqrt(0, 0 // 1)
    return SignedSqrt(s * Int(sign(total)), prefactor * total^2)
end

"""
    wigner_3j(j1, j2, j3, m1, m2, m3) -> SignedSqrt

Exact Wigner 3j symbol by Racah's formula (Edmonds eq. 3.7.3); zero where the selection rules
fail. `Float64(...)` gives the number.
"""
function wigner_3j(j1, j2, j3, m1, m2, m3)
    a, b, c, x, y, z = twice_j.((j1, j2, j3, m1, m2, m3))
    delta = triangle(a, b, c)
    if delta === nothing ||
            x + y + z != 0 ||
            abs(x) > a ||
            abs(y) > b ||
            abs(z) > c ||
            isodd(a + x) ||
            isodd(b + y) ||
            isodd(c + z)
        return SignedSqrt(0, 0 // 1)
    end
    prefactor = delta *
        fact_half(a + x) *
        fact_half(a - x) *
        fact_half(b + y) *
        fact_half(b - y) *
        fact_half(c + z) *
        fact_half(c - z)
    total = big(0) // 1
    for t in max(0, b - c - x, a - c + y):2:min(a + b - c, a - x, b + y)
        den = fact_half(t) *
            fact_half(c - b + t + x) *
            fact_half(c - a + t - y) *
            fact_half(a + b - c - t) *
            fact_half(a - t - x) *
            fact_half(b - t + y)
        total += sign_half(t) // den
    end
    return from_sum(prefactor, total, sign_half(a - b - z))
end

"""
    wigner_6j(j1, j2, j3, j4, j5, j6) -> SignedSqrt

Exact Wigner 6j symbol {j1 j2 j3; j4 j5 j6} by Racah's formula (Edmonds eq. 6.3.7).
"""
function wigner_6j(j1, j2, j3, j4, j5, j6)
    a, b, c, d, e, f = twice_j.((j1, j2, j3, j4, j5, j6))
    triads = ((a, b, c), (a, e, f), (d, b, f), (d, e, c))
    deltas = [triangle(t...) for t in triads]
    any(isnothing, deltas) && return SignedSqrt(0, 0 // 1)
    prefactor = prod(deltas)
    sums = sum.(triads)
    quads = (a + b + d + e, b + c + e + f, c + a + f + d)
    total = big(0) // 1
    for t in maximum(sums):2:minimum(quads)
        den = prod(fact_half(q - t) for q in quads) * prod(fact_half(t - s) for s in sums)
        total += sign_half(t) * fact_half(t + 2) // den
    end
    return from_sum(prefactor, total)
end

"""
    hund_ground_multiplet(n_4f) -> (L, S, J)

L, S, J (rationals) of 4f^n from Hund's rules.
"""
function hund_ground_multiplet(n_4f::Integer)
    0 <= n_4f <= 14 || throw(ArgumentError("4f electron count must be 0..14, got $n_4f"))
    ml = [3, 2, 1, 0, -1, -2, -3]
    up = min(n_4f, 7)
    L = abs(sum(ml[1:up]; init = 0) + sum(ml[1:(n_4f - up)]; init = 0))
    S = (up - (n_4f - up)) // 2
    J = n_4f < 7 ? abs(L - S) : L + S
    return L, S, J
end

"""
    occupied_orbitals(n_4f) -> Vector{Int}

m_l of the occupied orbitals (both spins) of the Hund state M_L = L, M_S = S (one determinant).
"""
function occupied_orbitals(n_4f::Integer)
    order = [3, 2, 1, 0, -1, -2, -3]
    up = min(n_4f, 7)
    return vcat(order[1:up], order[1:(n_4f - up)])
end

"""
    one_electron_ck0(l, k, m) -> Rational{BigInt}

<l m|C^k_0|l m> = (-1)^m (2l+1) (l k l; 0 0 0)(l k l; -m 0 m), exact.
"""
one_electron_ck0(l, k, m) = sign_half(2m) *
    (2l + 1) *
    exact_rational(wigner_3j(l, k, l, 0, 0, 0) * wigner_3j(l, k, l, -m, 0, m))

"""
    stevens_o_k0_at_top(k, J) -> Rational

<J, J|O_k^0|J, J> from Hutchings' closed forms of O_2^0, O_4^0, O_6^0.
"""
function stevens_o_k0_at_top(k::Integer, J::Rational)
    X, m = J * (J + 1), J
    k == 2 && return 3m^2 - X
    k == 4 && return 35m^4 - (30X - 25) * m^2 + 3X^2 - 6X
    k == 6 &&
        return 231m^6 -
            (315X - 735) * m^4 +
            (105X^2 - 525X + 294) * m^2 -
            5X^3 +
            40X^2 -
            60X
    throw(ArgumentError("k must be 2, 4 or 6, got $k"))
end

#: f_k0 = a_k r^k P_k(cos theta)
const POLE_VALUE = Dict(2 => 2, 4 => 8, 6 => 16)

"""
    stevens_factor_from_hund(n_4f, k) -> Rational{BigInt}

Stevens factor theta_k of the Hund's-rule ground multiplet of 4f^n, exact, from 3j and 6j
symbols (the five steps of python/ligandml/racah.py).
"""
function stevens_factor_from_hund(n_4f::Integer, k::Integer)
    haskey(POLE_VALUE, k) || throw(ArgumentError("k must be 2, 4 or 6, got $k"))
    L, S, J = hund_ground_multiplet(n_4f)
    (J == 0 || k > 2J || k > 2L) && return big(0) // 1
    top_L = sum(one_electron_ck0(3, k, m) for m in occupied_orbitals(n_4f))
    reduced_L = signed_sqrt_of(top_L) / wigner_3j(L, k, L, -L, 0, L)
    reduced_J = signed_sqrt_of(sign_half(Int(2 * (L + S + J + k))) * (2J + 1)) *
        wigner_6j(L, J, S, J, L, k) *
        reduced_L
    top_J = exact_rational(wigner_3j(J, k, J, -J, 0, J) * reduced_J)
    return POLE_VALUE[k] * top_J / stevens_o_k0_at_top(k, Rational{BigInt}(J))
end

# ---------------------------------------------------------------- harmonics (structure_models.py)

#: Hartree energy e^2/(4 pi eps0 a0) [K] (CODATA 2022 E_h over k_B, as scipy)
const HARTREE_K = 4.359744722206e-18 / BOLTZMANN_SI
#: Bohr radius [angstrom] (CODATA 2022)
const BOHR_ANGSTROM = 5.29177210544e-11 * 1.0e10

"""
    stevens_terms() -> Vector{Tuple{Int,Int}}

(k, q) for k = 2, 4, 6 and q = -k..k, the order of the Python dicts.
"""
stevens_terms() = [(k, q) for k in RANKS for q in (-k):k]

"""
    structure_parameter_name(k, q) -> String

PyCrystalField spelling "B4-3" of B_k^q.
"""
structure_parameter_name(k::Integer, q::Integer) = "B$k$q"

"""
    polynomial_scale(k, q) -> Float64

N_kq = c_kq 2^k k! (k-|q|)! / (2k)!: scales d^q P_k/dz^q to the leading coefficient c_kq.
"""
function polynomial_scale(k::Integer, q::Integer)
    aq = abs(q)
    return stevens_leading_coefficient(k, aq) *
        2.0^k *
        factorial(k) *
        factorial(k - aq) /
        factorial(2k)
end

"""
    addition_weight(k, q) -> Float64

w_kq of P_k(n1.n2) = sum_q w_kq f_kq(n1) f_kq(n2) (dimensionless).
"""
function addition_weight(k::Integer, q::Integer)
    aq = abs(q)
    return (q == 0 ? 1.0 : 2.0) *
        factorial(k - aq) /
        factorial(k + aq) /
        polynomial_scale(k, q)^2
end

"""
    legendre_derivative(k, q, z) -> Float64

d^q P_k / dz^q at z, from P_k(z) = 2^-k sum_j (-1)^j C(k,j) C(2k-2j,k) z^(k-2j).
"""
function legendre_derivative(k::Integer, q::Integer, z::Real)
    total = 0.0
    for j in 0:(k ÷ 2)
        p = k - 2j
        p < q && break
        c = (-1)^j * binomial(k, j) * binomial(2k - 2j, k) * factorial(p) ÷ factorial(p - q)
        total += c * z^(p - q)
    end
    return total / 2^k
end

"""
    stevens_polynomial(k, q, directions) -> Vector{Float64}

f_kq on unit vectors (rows of an N x 3 matrix): N_kq P_k^(q)(z) Re[(x+iy)^q] for q >= 0 and
Im[...] for q < 0 (f_20 = 3z^2 - 1, f_2-2 = 2xy). Dimensionless.
"""
function stevens_polynomial(k::Integer, q::Integer, directions::AbstractMatrix)
    scale = polynomial_scale(k, q)
    aq = abs(q)
    return map(eachrow(directions)) do n
        planar = complex(n[1], n[2])^aq
        scale * legendre_derivative(k, aq, n[3]) * (q >= 0 ? real(planar) : imag(planar))
    end
end

"""
    coordination_factor(k, q, directions) -> Vector{Float64}

Newman's coordination factor K_kq = a_k w_kq f_kq (K_k0 = P_k(cos theta)). Dimensionless.
"""
coordination_factor(k::Integer, q::Integer, directions::AbstractMatrix) = POLE_VALUE[k] *
    addition_weight(k, q) .*
    stevens_polynomial(k, q, directions)

# ---------------------------------------------------------------- ligands (coordination.py)

#: ligands closer to the ion than this [angstrom] count as sitting on it
const ORIGIN_TOL_ANGSTROM = 1.0e-6

"""
    spherical_to_cartesian(spherical) -> Matrix{Float64}

Rows (R [angstrom], theta [deg] from +z, phi [deg] from +x) to rows (x, y, z) [angstrom].
"""
function spherical_to_cartesian(s::AbstractMatrix)
    size(s, 2) == 3 ||
        throw(ArgumentError("spherical coordinates must be rows (R, theta, phi)"))
    R, t, p = s[:, 1], deg2rad.(s[:, 2]), deg2rad.(s[:, 3])
    return hcat(R .* sin.(t) .* cos.(p), R .* sin.(t) .* sin.(p), R .* cos.(t))
end

"""
    ligand_positions(positions; coordinates = "cartesian") -> Matrix{Float64}

Checked N x 3 Cartesian positions [angstrom] relative to the ion. Throws `ArgumentError` for no
ligands, non-finite values or a ligand on the ion.
"""
function ligand_positions(
    positions::AbstractMatrix;
    coordinates::AbstractString = "cartesian",
)
    coordinates in ("cartesian", "spherical") ||
        throw(ArgumentError(
            "coordinates must be 'cartesian' or 'spherical', got $(repr(coordinates))",
        ))
    size(positions, 1) == 0 &&
        throw(ArgumentError("no ligands: give at least one ligand position"))
    size(positions, 2) == 3 ||
        throw(ArgumentError("ligands must be an (N, 3) matrix, got $(size(positions))"))
    xyz = coordinates == "spherical" ?
        spherical_to_cartesian(positions) :
        Matrix{Float64}(positions)
    all(isfinite, xyz) || throw(ArgumentError("ligand coordinates must be finite"))
    for (i, row) in enumerate(eachrow(xyz))
        if sqrt(sum(abs2, row)) < ORIGIN_TOL_ANGSTROM
            throw(ArgumentError(
                "ligand $(i - 1) sits at the origin, on the lanthanide ion",
            ))
        end
    end
    return xyz
end

"""
    per_ligand(value, n, elements, what) -> Vector{Float64}

One value per ligand from a number, a vector of n numbers, or a Dict element symbol => number.
"""
function per_ligand(value, n::Integer, elements, what::AbstractString)
    if value isa AbstractDict
        elements === nothing &&
            throw(ArgumentError("$what given by element needs element symbols"))
        missing_elements = setdiff(Set(elements), Set(keys(value)))
        isempty(missing_elements) ||
            throw(ArgumentError(
                "$what has no value for element(s) $(join(sort(collect(missing_elements)), ", "))",
            ))
        out = [Float64(value[e]) for e in elements]
    elseif value isa Real
        out = fill(Float64(value), n)
    else
        length(value) == n ||
            throw(ArgumentError(
                "$what needs one value per ligand ($n), got $(length(value))",
            ))
        out = Float64.(collect(value))
    end
    all(isfinite, out) || throw(ArgumentError("$what must be finite"))
    return out
end

function kelvin_per_unit(unit::AbstractString)
    u = lowercase(strip(unit))
    u in ("k", "kelvin") && return 1.0
    u == "mev" && return KELVIN_PER_MEV
    u in ("cm-1", "cm^-1", "1/cm") &&
        return 100.0 * 6.62607015e-34 * 299792458.0 / BOLTZMANN_SI
    throw(ArgumentError("unknown energy unit $(repr(unit)); use one of 'K', 'meV', 'cm-1'"))
end

function unit_vectors(xyz::AbstractMatrix)
    R = vec(sqrt.(sum(abs2, xyz; dims = 2)))
    return xyz ./ R, R
end

"""
    point_charge_parameters(ion, positions; charges, unit = "K", radial_table = "freeman-desclaux",
                            coordinates = "cartesian", elements = nothing) -> Dict{String,Float64}

Stevens coefficients of the point-charge model [K or `unit`] for k = 2, 4, 6 and every q:
B_k^q = -E_h theta_k <r^k> sum_i q_i (a0/R_i)^(k+1) w_kq f_kq(n_i). positions: N x 3
[angstrom] relative to the ion; charges [|e|, negative for anions]: a number, one per ligand,
or a Dict by element (with `elements`).
"""
function point_charge_parameters(
    ion::AbstractString,
    positions::AbstractMatrix;
    charges,
    unit::AbstractString = "K",
    radial_table::AbstractString = "freeman-desclaux",
    coordinates::AbstractString = "cartesian",
    elements = nothing,
)
    lanthanide_symbol(ion)
    xyz = ligand_positions(positions; coordinates = coordinates)
    q_i = per_ligand(charges, size(xyz, 1), elements, "charges")
    n, R = unit_vectors(xyz)
    scale = kelvin_per_unit(unit)
    out = Dict{String, Float64}()
    for (k, q) in stevens_terms()
        prefactor = -HARTREE_K *
            stevens_factor(ion, k) *
            radial_integral(ion, k; table = radial_table)
        lattice_sum = sum(
            q_i .* (BOHR_ANGSTROM ./ R).^(k + 1) .* stevens_polynomial(k, q, n),
        )
        out[structure_parameter_name(k, q)] = prefactor *
            addition_weight(k, q) *
            lattice_sum /
            scale
    end
    return out
end

"""
    point_charge_intrinsic(ion, charge, distance; radial_table = "freeman-desclaux") -> Dict{Int,Float64}

Intrinsic parameters b_k(R) [K] of one point charge [|e|] at `distance` angstrom:
-E_h q <r^k> (a0/R)^(k+1) / a_k.
"""
function point_charge_intrinsic(
    ion::AbstractString,
    charge::Real,
    distance::Real;
    radial_table::AbstractString = "freeman-desclaux",
)
    lanthanide_symbol(ion)
    (isfinite(distance) && distance > 0) ||
        throw(ArgumentError("distance must be a positive number of angstrom"))
    return Dict(
        k =>
            -HARTREE_K *
                charge *
                radial_integral(ion, k; table = radial_table) *
                (BOHR_ANGSTROM / distance)^(k + 1) /
                POLE_VALUE[k]
        for k in RANKS
    )
end

"""
    superposition_parameters(ion, positions; b, t, R0, unit = "K", b_unit = "K",
                             coordinates = "cartesian", elements = nothing) -> Dict{String,Float64}

Newman's superposition model [K or `unit`]: B_k^q = theta_k sum_i b_k (R0/R_i)^t_k K_kq(n_i).
b, t: Dict rank => value (2, 4, 6 exactly); b in `b_unit`, holding <r^k>; R0 [angstrom]. Each
value: a number, one per ligand, or a Dict by element.
"""
function superposition_parameters(
    ion::AbstractString,
    positions::AbstractMatrix;
    b,
    t,
    R0,
    unit::AbstractString = "K",
    b_unit::AbstractString = "K",
    coordinates::AbstractString = "cartesian",
    elements = nothing,
)
    lanthanide_symbol(ion)
    xyz = ligand_positions(positions; coordinates = coordinates)
    N = size(xyz, 1)
    for (name, d) in (("b", b), ("t", t))
        (d isa AbstractDict && Set(keys(d)) == Set(RANKS)) ||
            throw(ArgumentError("$name needs exactly the ranks 2, 4, 6 as keys"))
    end
    R0_i = per_ligand(R0, N, elements, "R0")
    all(>(0), R0_i) || throw(ArgumentError("R0 must be a positive distance [angstrom]"))
    n, R = unit_vectors(xyz)
    b_scale, scale = kelvin_per_unit(b_unit), kelvin_per_unit(unit)
    out = Dict{String, Float64}()
    for (k, q) in stevens_terms()
        radial = per_ligand(b[k], N, elements, "b[$k]") .*
            b_scale .*
            (R0_i ./ R).^per_ligand(t[k], N, elements, "t[$k]")
        value = stevens_factor(ion, k) * sum(radial .* coordination_factor(k, q, n))
        out[structure_parameter_name(k, q)] = value / scale
    end
    return out
end

# ---------------------------------------------------------------- XYZ files (coordination.py)

const ELEMENT_SYMBOLS = split(
    "H He Li Be B C N O F Ne Na Mg Al Si P S Cl Ar K Ca Sc Ti V Cr Mn Fe Co Ni Cu Zn Ga Ge As " *
        "Se Br Kr Rb Sr Y Zr Nb Mo Tc Ru Rh Pd Ag Cd In Sn Sb Te I Xe Cs Ba La Ce Pr Nd Pm Sm " *
        "Eu Gd Tb Dy Ho Er Tm Yb Lu Hf Ta W Re Os Ir Pt Au Hg Tl Pb Bi Po At Rn Fr Ra Ac Th Pa " *
        "U Np Pu Am Cm Bk Cf Es Fm Md No Lr Rf Db Sg Bh Hs Mt Ds Rg Cn Nh Fl Mc Lv Ts Og",
)

"""
    element_symbol(label) -> String

Element of an atom label ("O1", "O2-", "Er3+" -> "O", "O", "Er"); `ArgumentError` if none.
"""
function element_symbol(label::AbstractString, place::AbstractString = "")
    m = match(r"^([A-Za-z]{1,2}?)(\d*[+-]?|\d+)$", strip(label))
    symbol = m === nothing ? "" : uppercasefirst(lowercase(m.captures[1]))
    symbol in ELEMENT_SYMBOLS ||
        throw(ArgumentError(
            "$(place)unknown element $(repr(label)) (expected a symbol such as O, N, Cl, Er)",
        ))
    return symbol
end

"""
    read_xyz(path; center = nothing, max_distance = nothing)
        -> (elements, positions, center, comment)

Ligands from an XYZ file (lines 'element x y z' [angstrom]; the count + comment header is
optional; '#' lines skipped), shifted so that the one Ce..Yb atom (or the atom at 0-based index
`center`) is at the origin. Throws `ArgumentError` naming the line for bad input.
"""
function read_xyz(path::AbstractString; center = nothing, max_distance = nothing)
    name = basename(path)
    lines = readlines(path)
    numbered = [
        (i, l)
        for (i, l) in enumerate(lines)
        if !isempty(strip(l)) && !startswith(lstrip(l), "#")
    ]
    comment, expected = "", nothing
    if !isempty(numbered) && occursin(r"^\s*\d+\s*$", numbered[1][2])
        expected = parse(Int, strip(numbered[1][2]))
        header_line = numbered[1][1]
        comment = header_line < length(lines) ? strip(lines[header_line + 1]) : ""
        numbered = [(i, l) for (i, l) in numbered if i > header_line + 1]
    end
    symbols = String[]
    rows = Vector{Vector{Float64}}()
    for (i, l) in numbered
        fields = split(l)
        place = "$name:$i: "
        length(fields) >= 4 ||
            throw(ArgumentError("$(place)expected 'element x y z', got $(repr(strip(l)))"))
        push!(symbols, element_symbol(fields[1], place))
        xyz = tryparse.(Float64, fields[2:4])
        (any(isnothing, xyz) || !all(isfinite, xyz)) &&
            throw(ArgumentError(
                "$(place)coordinates must be numbers, got $(repr(join(fields[2:4], " ")))",
            ))
        push!(rows, xyz)
    end
    expected !== nothing &&
        expected != length(rows) &&
        throw(ArgumentError(
            "$name: header says $expected atoms, the file has $(length(rows))",
        ))
    isempty(rows) && throw(ArgumentError("$name: no atoms"))
    xyz = permutedims(reduce(hcat, rows))
    if center === nothing
        ln_atoms = findall(in(LANTHANIDE_SYMBOLS), symbols)
        length(ln_atoms) > 1 &&
            throw(ArgumentError("$name: $(length(ln_atoms)) lanthanide atoms; pass center"))
        c = isempty(ln_atoms) ? nothing : ln_atoms[1]
    else
        0 <= center < length(rows) ||
            throw(ArgumentError("$name: center=$center is not an atom index"))
        c = center + 1
    end
    origin = nothing
    if c !== nothing
        origin = symbols[c]
        keep = [i for i in eachindex(symbols) if i != c]
        xyz = xyz[keep, :] .- xyz[c:c, :]
        symbols = symbols[keep]
    end
    if max_distance !== nothing
        near = vec(sqrt.(sum(abs2, xyz; dims = 2))) .<= max_distance
        xyz, symbols = xyz[near, :], symbols[near]
    end
    ligand_positions(xyz) # at least one ligand, none on the ion
    return (elements = symbols, positions = xyz, center = origin, comment = comment)
end
