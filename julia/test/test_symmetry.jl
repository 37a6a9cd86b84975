# Julia's tests of the parameter rotations and site symmetry (julia/src/symmetry.jl) against the
# golden vectors of scripts/make_golden.py (write_symmetry) and the rotation operator itself.
# Included from runtests.jl, which defines `golden`, `relative_error` and the file lists.

# the 32 point groups in the order of python/ligandml/symmetry.py (POINT_GROUPS), as numbered
# in symmetry_rotations.txt
const SYMMETRY_POINT_GROUPS = [
    "C1",
    "Ci",
    "C2",
    "Cs",
    "C2h",
    "D2",
    "C2v",
    "D2h",
    "C4",
    "S4",
    "C4h",
    "D4",
    "C4v",
    "D2d",
    "D4h",
    "C3",
    "C3i",
    "D3",
    "C3v",
    "D3d",
    "C6",
    "C3h",
    "C6h",
    "D6",
    "C6v",
    "D3h",
    "D6h",
    "T",
    "Th",
    "O",
    "Td",
    "Oh",
]
const ROTATION_TOL = 1.0e-12

"""
    rotation_operator(J, alpha, beta, gamma) -> Matrix{ComplexF64}

exp(-i alpha Jz) exp(-i beta Jy) exp(-i gamma Jz) in the |J, m> basis (m descending).
"""
function rotation_operator(J::Real, alpha::Real, beta::Real, gamma::Real)
    _, jy, jz = spin_matrices(J)
    return exp(-im * alpha * jz) * exp(-im * beta * jy) * exp(-im * gamma * jz)
end

@testset "parameter rotations and site symmetry" begin
    @testset "rotated parameters ($file)" for file in SYMMETRY_FILES
        blocks = golden(file)
        terms = [(round(Int, r[1]), round(Int, r[2])) for r in eachrow(blocks["terms"])]
        batch = StevensBatch(terms, blocks["coeffs"])
        euler = blocks["euler"]
        for i in axes(euler, 1)
            angles = euler[i, :]
            expected = blocks["rotated_$i"]
            R = blocks["matrix_$i"]
            @test maximum(abs, LigandML.euler_to_matrix(angles...) - R) <= 1.0e-14
            @test maximum(
                abs,
                LigandML.euler_to_matrix(LigandML.matrix_to_euler(R)...) - R,
            ) <=
                1.0e-14
            for rotation in (angles, R)
                rotated = LigandML.rotate_batch(batch, rotation)
                @test rotated.terms == terms
                @test relative_error(rotated.coeffs, expected) <= ROTATION_TOL
            end
            # H(rotated) = U H U' for an active rotation, Kramers J = 15/2
            ion = Ion(7.5, 1.2)
            H = ligand_field_hamiltonians(ion, batch)
            H_rot = ligand_field_hamiltonians(ion, LigandML.rotate_batch(batch, angles))
            U = rotation_operator(7.5, angles...)
            for s in 1:n_sets(batch)
                Hs = Matrix(H[:, :, s])
                @test maximum(abs, U * Hs * U' - H_rot[:, :, s]) <=
                    ROTATION_TOL * maximum(abs, Hs)
            end
            # round trip through the inverse rotation
            back = LigandML.rotate_batch(LigandML.rotate_batch(batch, R), permutedims(R))
            @test maximum(abs, back.coeffs - batch.coeffs) <= ROTATION_TOL
        end
    end

    @testset "Wigner matrices are the rotation operators of rank k" begin
        for k in (2, 4, 6), (a, b, g) in ((0.3, 1.2, -2.1), (-1.0, 3.0, 0.5))
            U = rotation_operator(k, a, b, g)[end:-1:1, end:-1:1] # m = -k..k
            @test maximum(abs, LigandML.wigner_d(k, a, b, g) - U) <= 1.0e-13
        end
    end

    @testset "allowed parameters of the 32 point groups ($file)" for file in SYMMETRY_FILES
        blocks = golden(file)
        for (g, group) in enumerate(SYMMETRY_POINT_GROUPS)
            terms, ratios = LigandML.allowed_parameters(group)
            expected = [
                (round(Int, r[1]), round(Int, r[2]))
                for r in eachrow(blocks["allowed_$g"])
            ]
            @test terms == expected
            if haskey(blocks, "ratios_$g")
                rows = blocks["ratios_$g"]
                @test length(ratios) == size(rows, 1)
                for (r, (dep, free, factor)) in enumerate(ratios)
                    @test dep == (round(Int, rows[r, 1]), round(Int, rows[r, 2]))
                    @test free == (round(Int, rows[r, 3]), round(Int, rows[r, 4]))
                    @test factor ≈ rows[r, 5] rtol = 1.0e-9
                end
            else
                @test isempty(ratios)
            end
        end
        # textbook spot checks, independent of the golden file
        @test LigandML.allowed_parameters("D3d")[1] ==
            [(2, 0), (4, 0), (4, 3), (6, 0), (6, 3), (6, 6)]
        @test LigandML.allowed_parameters("D4h")[1] ==
            [(2, 0), (4, 0), (4, 4), (6, 0), (6, 4)]
        @test length(LigandML.allowed_parameters("C1")[1]) == 27
    end

    @testset "bad input is refused" begin
        @test_throws ArgumentError LigandML.stevens_rotation_matrix(3, [0.1, 0.2, 0.3])
        @test_throws ArgumentError LigandML.stevens_rotation_matrix(2, ones(3, 3))
        @test_throws ArgumentError LigandML.stevens_rotation_matrix(2, [0.1, 0.2])
        @test_throws ArgumentError LigandML.allowed_parameters("D3h2")
    end
end
