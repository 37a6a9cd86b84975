# Julia's own tests of the LigandML kernels: every golden vector under tests/golden (written from
# the NumPy reference by scripts/make_golden.py), plus identities that need no reference.
#
# Run from the repository root:  julia --project=. --threads=2 julia/test/runtests.jl
# Standard library only (Test, LinearAlgebra).

using Test
using LinearAlgebra

include(joinpath(@__DIR__, "..", "LigandML.jl"))
using .LigandML

include(joinpath(@__DIR__, "golden_io.jl"))

const GOLDEN_DIR = normpath(joinpath(@__DIR__, "..", "..", "tests", "golden"))

# Every golden file, by name (tests/test_golden.py checks that this list names them all).
const CONSTANT_FILES = ["constants.txt"]
const STEVENS_FILES = ["stevens_J4.txt", "stevens_J9_2.txt", "stevens_J15_2.txt"]
const LEVELS_CHI_FILES = [
    "levels_chi_ce_sine_terms.txt",
    "levels_chi_dy_all_even_k.txt",
    "levels_chi_er_DE_test_curves.txt",
    "levels_chi_er_even_q_negative.txt",
    "levels_chi_er_near_crossing.txt",
    "levels_chi_er_odd_q.txt",
    "levels_chi_ho_blocks.txt",
    "levels_chi_tb_full.txt",
    "levels_chi_tb_near_degenerate.txt",
    "levels_chi_tm_real_blocks.txt",
    "levels_chi_yb_persymmetric.txt",
]
# the cases whose every set has level pairs closer than NEAR_GAP_K (non-Kramers and Kramers)
const NEAR_PAIR_FILES = [
    "levels_chi_tb_near_degenerate.txt",
    "levels_chi_er_near_crossing.txt",
]
const MOMENT_FILES = ["moment_KErSe2_1T.txt"]
const SYMMETRY_FILES = ["symmetry_rotations.txt"]
const GOLDEN_FILES = vcat(
    CONSTANT_FILES,
    STEVENS_FILES,
    LEVELS_CHI_FILES,
    MOMENT_FILES,
    SYMMETRY_FILES,
    ["structure_models.txt"],
    ["single_crystal_d3d.txt"],
)
include(joinpath(@__DIR__, "test_single_crystal.jl")) # golden file "single_crystal_d3d.txt"

golden(name) = read_golden(joinpath(GOLDEN_DIR, name))

# tolerances, relative to the scale of each block: the two backends sum in different orders
# and LAPACK's eigenvectors differ by phases, so agreement is to rounding, not bit for bit
const OPERATOR_TOL = 1.0e-12
const ENERGY_TOL = 1.0e-10
const CHI_TOL = 1.0e-10
const MOMENT_TOL = 1.0e-9

sorted_rows(E) = mapslices(sort, E; dims = 2)

# both branches of relative_expm1 (|x| < 1e-8 and above), both signs
const EXPM1_POINTS = [
    1.0e-12,
    -1.0e-12,
    1.0e-9,
    -3.0e-9,
    3.0e-8,
    -3.0e-8,
    1.0e-4,
    0.5,
    30.0,
    -5.0,
]

"""
    brute_force_chi(E, S, T, gJ) -> Vector{Float64}

Zero-field powder chi(T) [emu/mol] of one set from its energies E [K] and dipole strengths S,
summed pair by pair in 256-bit BigFloat: S_ij (exp(-E_i/T) - exp(-E_j/T)) / (E_j - E_i), or
S_ij exp(-E_i/T) / T for equal energies. No degeneracy tolerance and no cancellation, so it is
exact for the given E and S, however close two levels are.
"""
function brute_force_chi(E::AbstractVector, S::AbstractMatrix, T::AbstractVector, gJ::Real)
    return setprecision(BigFloat, 256) do
        e = big.(E) .- minimum(big.(E))
        chi = zeros(length(T))
        for (t, temp) in enumerate(big.(T))
            boltz = exp.(-e ./ temp)
            num = big(0.0)
            for j in eachindex(e), i in eachindex(e)
                gap = e[j] - e[i]
                if iszero(gap)
                    num += S[i, j] * boltz[i] / temp
                else
                    num += S[i, j] * (boltz[i] - boltz[j]) / gap
                end
            end
            chi[t] = Float64(big(LigandML.CURIE_FACTOR) * big(gJ)^2 / 3 * num / sum(boltz))
        end
        chi
    end
end

@testset "LigandML kernels" begin
    @testset "the golden directory holds exactly the named files" begin
        @test isdir(GOLDEN_DIR)
        @test sort(filter(f -> endswith(f, ".txt"), readdir(GOLDEN_DIR))) ==
            sort(GOLDEN_FILES)
    end

    @testset "constants agree with the Python side ($file)" for file in CONSTANT_FILES
        blocks = golden(file)
        @test scalar(blocks, "MU_B_OVER_K_B") ≈ LigandML.MU_B_OVER_K_B rtol = 4eps()
        @test scalar(blocks, "CURIE_FACTOR") ≈ LigandML.CURIE_FACTOR rtol = 4eps()
        @test scalar(blocks, "MU_B_PER_ION_IN_EMU_PER_MOL") ≈
            LigandML.MU_B_PER_ION_IN_EMU_PER_MOL rtol = 4eps()
        @test scalar(blocks, "KELVIN_PER_MEV") ≈ LigandML.KELVIN_PER_MEV rtol = 4eps()
        # the Van Vleck level-pair tolerances are the reference's, exactly
        @test scalar(blocks, "DEGENERACY_TOL_REL") == LigandML.DEGENERACY_TOL_REL
        @test scalar(blocks, "NEAR_GAP_K") == LigandML.NEAR_GAP_K
    end

    @testset "Stevens operators ($file)" for file in STEVENS_FILES
        blocks = golden(file)
        J = scalar(blocks, "J")
        n = dimension(J)
        @test count(startswith("O_"), keys(blocks)) == sum(2k + 1 for k in 1:6)
        for k in 1:6, q in -k:k
            expected = blocks["O_$(k)_$(q)"]
            op = stevens_operator(J, k, q)
            @test size(op) == (n, n)
            part, other = q >= 0 ? (real(op), imag(op)) : (imag(op), real(op))
            scale = max(1.0, maximum(abs, expected))
            @test maximum(abs, part .- expected) <= OPERATOR_TOL * scale
            @test maximum(abs, other) <= OPERATOR_TOL * scale
            @test op ≈ op' atol = OPERATOR_TOL * scale
        end
    end

    @testset "energies and zero-field chi ($file)" for file in LEVELS_CHI_FILES
        blocks = golden(file)
        ion, batch = golden_batch(blocks)
        T = vec(blocks["T"])
        energies, strengths = level_scheme(ion, batch)
        @test size(strengths) == (n_sets(batch), dimension(ion), dimension(ion))
        @test relative_error(sorted_rows(energies), blocks["energies"]) <= ENERGY_TOL
        chi = zero_field_chi(ion, batch, T)
        @test max_pointwise_relative_error(chi, blocks["chi"]) <= CHI_TOL
        # the split into chunks (threads) does not change any number
        for nchunks in (1, 2, 5)
            @test zero_field_chi(ion, batch, T; nchunks = nchunks) ≈ chi rtol = 1.0e-14
        end
        # the route through parity blocks agrees with the full eigensolve
        if LigandML.level_route(ion, batch) !== :full
            H = ligand_field_hamiltonians(ion, batch)
            for s in 1:n_sets(batch)
                full = eigvals(Hermitian(Matrix(H[:, :, s])))
                @test relative_error(sort(energies[s, :]), full) <= ENERGY_TOL
            end
        end
    end

    @testset "Van Vleck terms ($file)" for file in LEVELS_CHI_FILES
        blocks = golden(file)
        ion, batch = golden_batch(blocks)
        T = vec(blocks["T"])
        N = n_sets(batch)
        n = dimension(ion)
        energies, strengths = level_scheme(ion, batch)
        terms = curie_and_van_vleck_terms(energies, strengths, iskramers(ion))
        L = iskramers(ion) ? n ÷ 2 : n
        @test size(terms.levels) == size(terms.curie) == size(terms.vanvleck) == (N, L)
        @test all(==(iskramers(ion) ? 2.0 : 1.0), terms.weights)
        @test all(==(0.0), minimum(terms.levels; dims = 2))
        @test issorted(terms.near_set)
        @test all(g -> 0 < abs(g) < LigandML.NEAR_GAP_K, terms.near_gap)
        # the near pairs come in (i, j), (j, i) couples: the gaps sum to zero
        @test abs(sum(terms.near_gap)) <= 1.0e-12
        # the public pieces reproduce the threaded sweep exactly
        @test van_vleck_chi(terms, T, ion.gJ) ≈ zero_field_chi(ion, batch, T) rtol = 1.0e-14
        # one set given as a vector and a matrix
        first_set = curie_and_van_vleck_terms(
            energies[1, :],
            strengths[1, :, :],
            iskramers(ion),
        )
        @test first_set.levels == terms.levels[1:1, :]
        @test first_set.near_gap == terms.near_gap[terms.near_set .== 1]
    end

    @testset "near pairs against a BigFloat pair sum ($file)" for file in NEAR_PAIR_FILES
        blocks = golden(file)
        ion, batch = golden_batch(blocks)
        T = vec(blocks["T"])
        energies, strengths = level_scheme(ion, batch)
        terms = curie_and_van_vleck_terms(energies, strengths, iskramers(ion))
        # every set of these cases takes the per-pair path
        @test unique(terms.near_set) == 1:n_sets(batch)
        @test minimum(abs, terms.near_gap) < 1.0e-4
        chi = zero_field_chi(ion, batch, T)
        for s in 1:n_sets(batch)
            exact = brute_force_chi(energies[s, :], strengths[s, :, :], T, ion.gJ)
            @test max_pointwise_relative_error(chi[s, :], exact) <= 1.0e-11
        end
    end

    @testset "(1 - exp(-x))/x to rounding" begin
        @test LigandML.relative_expm1(0.0) == 1.0
        for x in EXPM1_POINTS
            exact = setprecision(BigFloat, 256) do
                Float64((1 - exp(-big(x))) / big(x))
            end
            @test LigandML.relative_expm1(x) ≈ exact rtol = 4eps()
        end
    end

    @testset "KErSe2 at 1 T and in zero field ($file)" for file in MOMENT_FILES
        blocks = golden(file)
        ion, batch = golden_batch(blocks)
        T = vec(blocks["T"])
        B = scalar(blocks, "field_T")
        directions = blocks["directions"]
        weights = vec(blocks["weights"])
        @test size(directions, 2) == 3
        @test sum(weights) ≈ 1.0 rtol = 1.0e-14
        energies, _ = level_scheme(ion, batch)
        @test relative_error(sorted_rows(energies), blocks["energies"]) <= ENERGY_TOL
        # published doublets (Scheie et al. 2020), meV
        doublets = (sort(energies[1, :])[1:2:end] .- minimum(energies)) ./
            LigandML.KELVIN_PER_MEV
        @test doublets ≈
            [0, 0.903, 3.491, 5.134, 5.538, 23.336, 25.223, 25.428] atol = 2.0e-3
        @test max_pointwise_relative_error(
            zero_field_chi(ion, batch, T),
            blocks["chi_zero_field"],
        ) <=
            CHI_TOL
        moment = powder_moment(ion, batch, B, T, directions, weights)
        @test max_pointwise_relative_error(moment, blocks["moment"]) <= MOMENT_TOL
        chi_field = finite_field_chi(ion, batch, B, T, directions, weights)
        @test max_pointwise_relative_error(chi_field, blocks["chi_field"]) <= MOMENT_TOL
        # one set: nchunks > 1 threads over directions instead of sets; same numbers
        @test powder_moment(ion, batch, B, T, directions, weights; nchunks = 4) ≈
            moment rtol = 1.0e-12
        # several sets thread over sets
        two = StevensBatch(batch.terms, vcat(batch.coeffs, 0.5 .* batch.coeffs))
        both = powder_moment(ion, two, B, T, directions, weights; nchunks = 2)
        @test both[1:1, :] ≈ moment rtol = 1.0e-12
        mag = powder_magnetization(ion, two, [B, 2B], T, directions, weights)
        @test size(mag) == (2, 2, length(T))
        @test mag[:, 1, :] ≈ both rtol = 1.0e-12
        # linear response: M/B at a small field is the zero-field chi (the Lebedev rule is
        # exact for the quadratic form n.chi.n)
        small = finite_field_chi(ion, batch, 1.0e-3, T[T .>= 5], directions, weights)
        @test max_pointwise_relative_error(small, zero_field_chi(ion, batch, T[T .>= 5])) <=
            1.0e-5
    end

    @testset "operator identities (no reference needed)" begin
        for J in (1.0, 2.5, 7.5, 8.0)
            jx, jy, jz = spin_matrices(J)
            n = dimension(J)
            @test jx * jy - jy * jx ≈ im * jz
            @test jx^2 + jy^2 + jz^2 ≈ J * (J + 1) * I(n)
            jp = j_plus(J)
            @test stevens_operator(J, 2, 0) ≈ 3 * jz^2 - J * (J + 1) * I(n)
            @test stevens_operator(J, 2, 2) ≈ (jp^2 + (jp')^2) / 2
            @test stevens_operator(J, 2, -2) ≈ (jp^2 - (jp')^2) / (2im)
            for k in 1:6, q in 1:k
                # [Jz, O_k^q] = i q O_k^-q ties the sign of the sine-type operators to the cosine ones
                o = stevens_operator(J, k, q)
                @test jz * o - o * jz ≈ im * q * stevens_operator(J, k, -q) atol = 1.0e-9 *
                    max(1, norm(o))
            end
        end
        @test [
            stevens_leading_coefficient(k, q)
            for (k, q) in ((2, 0), (4, 0), (4, 2), (6, 0), (6, 2), (6, 6))
        ] ==
            [3, 35, 7, 231, 33, 1]
    end

    @testset "free ion: Curie law" begin
        ion = Ion("Er3+", 7.5, 1.2)
        batch = StevensBatch([2], [0], zeros(1, 1))
        T = [2.0, 10.0, 300.0]
        curie = LigandML.CURIE_FACTOR * 1.2^2 * 7.5 * 8.5 / 3
        @test vec(zero_field_chi(ion, batch, T)) ≈ curie ./ T rtol = 1.0e-12
    end

    @testset "chunking" begin
        for (n, c) in ((10, 3), (3, 8), (0, 4), (7, 1))
            ranges = LigandML.chunk_ranges(n, c)
            @test reduce(vcat, collect.(ranges); init = Int[]) == collect(1:n)
            @test length(ranges) <= max(1, c)
        end
    end

    @testset "allocation stays small per set" begin
        blocks = golden("levels_chi_er_odd_q.txt")
        ion, batch = golden_batch(blocks)
        many = StevensBatch(batch.terms, repeat(batch.coeffs, 200))
        T = vec(blocks["T"])
        zero_field_chi(ion, many, T; nchunks = 1) # compile
        bytes = @allocated zero_field_chi(ion, many, T; nchunks = 1)
        # only LAPACK's eigen! allocates per set (eigenvectors and work arrays, a few kB)
        @test bytes / n_sets(many) < 64_000
    end

    @testset "bad input is refused" begin
        @test_throws ArgumentError stevens_operator(7.5, 7, 0)
        @test_throws ArgumentError stevens_operator(7.5, 2, 3)
        @test_throws ArgumentError stevens_operator(0.0, 2, 0)
        @test_throws ArgumentError Ion("bad", 1.3, 1.0)
        @test_throws ArgumentError StevensBatch([2], [0], zeros(2, 2))
        @test_throws ArgumentError StevensBatch([2, 2], [0, 0], zeros(1, 2))
        ion = Ion(7.5, 1.2)
        batch = StevensBatch([2], [0], ones(1, 1))
        @test_throws ArgumentError zero_field_chi(ion, batch, [0.0, 2.0])
        @test_throws ArgumentError zero_field_chi(ion, batch, Float64[])
        @test_throws ArgumentError powder_moment(
            ion,
            batch,
            -1.0,
            [2.0],
            [0.0 0.0 1.0],
            [1.0],
        )
        @test_throws ArgumentError powder_moment(ion, batch, 1.0, [2.0], [0.0 1.0], [1.0])
    end
end

include(joinpath(@__DIR__, "test_symmetry.jl"))
include(joinpath(@__DIR__, "test_structure_models.jl"))
