# Angular-momentum matrices and Stevens operators O_k^q (Hutchings 1964 convention).
# Mirror of python/ligandml/operators.py; read the two side by side.
#
# Basis |J, m>, m = J, J-1, ..., -J (descending), so Jz = diag(J, ..., -J) and J+ sits on the
# first superdiagonal. Jx = (J+ + J-)/2, Jy = (J+ - J-)/(2i).
#
# Construction. The components of a rank-k spherical tensor built from J follow from
# T_kk = J+^k by lowering, [J-, T_kq] = sqrt((k+q)(k-q+1)) T_k,q-1. Writing
# T_kq = lambda_kq J+^q Jz^(k-q) + (lower powers of Jz), the leading coefficient obeys
# lambda_k,q-1 = -lambda_kq sqrt((k+q)/(k-q+1)) with lambda_kk = 1. A Stevens operator is
#
#     O_k^q  = (1/4) [P_kq(Jz) (J+^q + J-^q) + (J+^q + J-^q) P_kq(Jz)] + ...   (q > 0)
#     O_k^-q = (1/4i)[P_kq(Jz) (J+^q - J-^q) + (J+^q - J-^q) P_kq(Jz)] + ...   (q > 0)
#     O_k^0  = P_k0(Jz)
#
# where the leading coefficient c_kq of P_kq is that of d^q/dz^q of the Legendre polynomial P_k,
# scaled to coprime integers (3 for O_2^0, 35 for O_4^0, 7 for O_4^2, 231 for O_6^0, 33 for
# O_6^2, 1 for every O_k^k). Hence O_k^q = c_kq/(2 lambda_kq) (T_kq + T_kq'),
# O_k^-q = -i c_kq/(2 lambda_kq) (T_kq - T_kq'), and O_k^0 = (c_k0/lambda_k0) T_k0.
# References: K. W. H. Stevens, Proc. Phys. Soc. A 65, 209 (1952); M. T. Hutchings, Solid State
# Phys. 16, 227 (1964); the same operators as PyCrystalField, Mantid and McPhase.

"""
    dimension(J) -> Int

Dimension 2J+1 of the multiplet. Throws `ArgumentError` unless J is a non-negative multiple
of 1/2.
"""
function dimension(J::Real)
    twoJ = 2 * Float64(J)
    if !(isfinite(twoJ) && twoJ >= 0 && abs(twoJ - round(twoJ)) < 1.0e-9)
        throw(ArgumentError("J must be a non-negative multiple of 1/2, got $J"))
    end
    return round(Int, twoJ) + 1
end

"""
    m_values(J) -> Vector{Float64}

Magnetic quantum numbers m = J, J-1, ..., -J (the basis order).
"""
function m_values(J::Real)
    n = dimension(J)
    return [(n - 1) / 2 - i for i in 0:(n - 1)]
end

"""
    j_plus(J) -> Matrix{Float64}

Raising operator J+ (real, first superdiagonal): <m+1|J+|m> = sqrt(J(J+1) - m(m+1)).
"""
function j_plus(J::Real)
    n = dimension(J)
    jj = (n - 1) / 2
    m = m_values(J)
    out = zeros(n, n)
    for i in 1:(n - 1)
        mi = m[i + 1] # column i+1 holds m = J - i
        out[i, i + 1] = sqrt(jj * (jj + 1) - mi * (mi + 1))
    end
    return out
end

"""
    spin_matrices(J) -> (Jx, Jy, Jz)

Angular-momentum matrices as complex (2J+1)x(2J+1) matrices in the |J, m> basis (m descending),
dimensionless (units of hbar).
"""
function spin_matrices(J::Real)
    jp = j_plus(J)
    jm = permutedims(jp)
    jx = complex.((jp .+ jm) ./ 2)
    jy = (jp .- jm) ./ (2im)
    jz = complex.(diagm(m_values(J)))
    return jx, jy, jz
end

"""
    stevens_leading_coefficient(k, q) -> Int

Leading coefficient c_kq of P_kq: that of d^|q|/dz^|q| P_k(z) scaled to coprime integers.
"""
function stevens_leading_coefficient(k::Integer, q::Integer)
    q = abs(q)
    coeffs = Int[] # integer coefficients of 2^k P_k(z) differentiated q times, highest power first
    for j in 0:(k ÷ 2)
        power = k - 2j
        power < q && break
        a = (-1)^j * binomial(k, j) * binomial(2k - 2j, k)
        push!(coeffs, a * factorial(power) ÷ factorial(power - q))
    end
    divisor = 0
    for c in coeffs
        divisor = gcd(divisor, c)
    end
    return coeffs[1] ÷ divisor
end

"""
    spherical_tensor_components(J, k) -> Vector{Matrix{Float64}}

T_kq for q = 0..k (element q+1) from T_kk = J+^k by repeated lowering with J-.
"""
function spherical_tensor_components(J::Real, k::Integer)
    jp = j_plus(J)
    jm = permutedims(jp)
    comps = Vector{Matrix{Float64}}(undef, k + 1)
    comps[k + 1] = jp^k
    for q in k:-1:1
        t = comps[q + 1]
        comps[q] = (jm * t - t * jm) ./ sqrt((k + q) * (k - q + 1))
    end
    return comps
end

"""
    leading_lambda(k, q) -> Float64

Leading coefficient lambda_kq of T_kq = lambda_kq J+^q Jz^(k-q) + ...
"""
function leading_lambda(k::Integer, q::Integer)
    lam = 1.0
    for p in k:-1:(q + 1)
        lam *= -sqrt((k + p) / (k - p + 1))
    end
    return lam
end

"""
    check_kq(k, q)

Throw `ArgumentError` unless 1 <= k <= 6 and -k <= q <= k.
"""
function check_kq(k::Integer, q::Integer)
    if !(1 <= k <= K_MAX)
        throw(ArgumentError("Stevens operators need 1 <= k <= $K_MAX, got k=$k"))
    end
    if !(-k <= q <= k)
        throw(ArgumentError("Stevens operator O_$(k)^$(q): q must lie in -$k..$k"))
    end
    return nothing
end

"""
    stevens_operator(J, k, q) -> Matrix{ComplexF64}

Stevens operator O_k^q as a complex (2J+1)x(2J+1) Hermitian matrix (Hutchings convention),
dimensionless. k = 1..6, q = -k..k; q < 0 gives the sine-type operator
(e.g. O_2^-2 = (J+^2 - J-^2)/(2i)). For 2J < k the operator vanishes identically.
Throws `ArgumentError` for invalid J, k or q.
"""
function stevens_operator(J::Real, k::Integer, q::Integer)
    n = dimension(J)
    n < 2 && throw(ArgumentError("J must be >= 1/2 for Stevens operators, got $J"))
    check_kq(k, q)
    t = spherical_tensor_components(J, k)[abs(q) + 1]
    tt = permutedims(t) # T_kq' (T_kq is real)
    c = stevens_leading_coefficient(k, q)
    lam = leading_lambda(k, abs(q))
    if q == 0
        return complex.((c / lam) .* (t .+ tt) ./ 2)
    elseif q > 0
        return complex.((c / (2 * lam)) .* (t .+ tt))
    else
        return (-im * c / (2 * lam)) .* complex.(t .- tt)
    end
end
