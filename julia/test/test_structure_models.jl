# Julia's tests of the structure models (julia/src/structure_models.jl): the golden vectors of
# tests/golden/structure_models.txt (written from the NumPy reference by scripts/make_golden.py)
# and checks that need no reference: Hund-rule Stevens factors, the addition theorem, the
# cubic ratios, the point-charge / superposition equivalence, the XYZ reader, bad input.
# Included from julia/test/runtests.jl (GOLDEN_DIR, golden, scalar and relative_error come from there).

structure_row(params::Dict, terms) = [
    params[LigandML.structure_parameter_name(round(Int, k), round(Int, q))]
    for (k, q) in eachrow(terms)
]

@testset "structure models" begin
    blocks = golden("structure_models.txt")
    symbols = LigandML.LANTHANIDE_SYMBOLS
    ions = [symbols[round(Int, n)] * "3+" for n in vec(blocks["ions_n4f"])]
    terms = blocks["terms"]
    ligands = blocks["ligands"]
    charges = vec(blocks["charges"])

    @testset "constants and tables agree with the Python side" begin
        @test LigandML.HARTREE_K == scalar(blocks, "hartree_K")
        @test LigandML.BOHR_ANGSTROM == scalar(blocks, "bohr_angstrom")
        @test [stevens_factor(s, k) for s in symbols, k in (2, 4, 6)] ==
            blocks["stevens_factors"]
        @test [radial_integral(s, k) for s in symbols, k in (2, 4, 6)] ==
            blocks["radial_freeman_desclaux"]
        @test [
            radial_integral(s, k; table = "edvardsson-klintenberg")
            for s in symbols, k in (2, 4, 6)
        ] ≈
            blocks["radial_edvardsson_klintenberg"] rtol = 1.0e-15
        @test [LigandML.stevens_terms()...] ==
            [(round(Int, k), round(Int, q)) for (k, q) in eachrow(terms)]
    end

    @testset "Stevens factors from Hund's rules equal the table ($s)" for (
            n,
            s,
        ) in enumerate(symbols)
        for k in (2, 4, 6)
            @test stevens_factor_from_hund(n, k) == stevens_factor_exact(s, k)
        end
    end

    @testset "3j and 6j closed forms" begin
        for j2 in 0:12, m2 in (-j2):2:j2
            j, m = j2 // 2, m2 // 2
            @test Float64(wigner_3j(j, j, 0, m, -m, 0)) ≈
                (-1)^Int(j - m) / sqrt(2j + 1) rtol = 1.0e-14
        end
        @test Float64(wigner_6j(6, 15 // 2, 3 // 2, 15 // 2, 6, 4)) ≈
            -0.05957485835769626 rtol = 1.0e-14
    end

    @testset "addition theorem" begin
        n1 = [0.3 -0.5 0.81; 0.0 0.0 1.0; -0.7 0.7 0.14]
        n2 = [0.9 0.1 -0.42; 0.6 0.0 0.8; 0.1 -0.99 0.1]
        n1 ./= sqrt.(sum(abs2, n1; dims = 2))
        n2 ./= sqrt.(sum(abs2, n2; dims = 2))
        c = vec(sum(n1 .* n2; dims = 2))
        legendre = Dict(
            2 => (3c.^2 .- 1) ./ 2,
            4 => (35c.^4 .- 30c.^2 .+ 3) ./ 8,
            6 => (231c.^6 .- 315c.^4 .+ 105c.^2 .- 5) ./ 16,
        )
        for k in (2, 4, 6)
            total = sum(
                addition_weight(k, q) .*
                    stevens_polynomial(k, q, n1) .*
                    stevens_polynomial(k, q, n2)
                for q in (-k):k
            )
            @test total ≈ legendre[k] atol = 1.0e-13
        end
    end

    @testset "point charge and superposition match the reference ($ion)" for (
            i,
            ion,
        ) in enumerate(ions)
        pc = structure_row(point_charge_parameters(ion, ligands; charges = charges), terms)
        @test relative_error(pc, blocks["point_charge"][i, :]) <= 1.0e-12
        ek = point_charge_parameters(
            ion,
            ligands;
            charges = charges,
            radial_table = "edvardsson-klintenberg",
        )
        @test relative_error(structure_row(ek, terms), blocks["point_charge_ek"][i, :]) <=
            1.0e-12
        b = Dict(zip((2, 4, 6), vec(blocks["sp_b"])))
        t = Dict(zip((2, 4, 6), vec(blocks["sp_t"])))
        sp = superposition_parameters(
            ion,
            ligands;
            b = b,
            t = t,
            R0 = scalar(blocks, "sp_R0"),
        )
        @test relative_error(structure_row(sp, terms), blocks["superposition"][i, :]) <=
            1.0e-12
        # the point-charge model is the superposition model with t_k = k + 1
        R0 = 2.4
        same = superposition_parameters(
            ion,
            ligands;
            b = point_charge_intrinsic(ion, -1.0, R0),
            t = Dict(2 => 3, 4 => 5, 6 => 7),
            R0 = R0,
        )
        pc1 = point_charge_parameters(ion, ligands; charges = -1.0)
        @test relative_error(structure_row(same, terms), structure_row(pc1, terms)) <=
            1.0e-12
    end

    @testset "PyCrystalField's Yb2Ti2O7 example" begin
        yto = point_charge_parameters(
            "Yb3+",
            blocks["yto_ligands"];
            charges = -2,
            unit = "meV",
            radial_table = "edvardsson-klintenberg",
        )
        @test relative_error(
            structure_row(yto, terms),
            vec(blocks["yto_point_charge_meV"]),
        ) <=
            1.0e-12
        published = Dict(
            "B20" => 0.53552196,
            "B40" => -0.04430884,
            "B43" => 0.33472584,
            "B60" => 0.00032957,
            "B63" => 0.00302494,
            "B66" => 0.00313667,
        )
        for (name, value) in published
            @test yto[name] ≈ value rtol = 1.0e-5
        end
    end

    @testset "octahedron: cubic ratios" begin
        octahedron = 2.3 .* [1 0 0; -1 0 0; 0 1 0; 0 -1 0; 0 0 1; 0 0 -1]
        B = point_charge_parameters("Er3+", octahedron; charges = -2)
        @test B["B44"] ≈ 5 * B["B40"] rtol = 1.0e-12
        @test B["B64"] ≈ -21 * B["B60"] rtol = 1.0e-12
        @test abs(B["B20"]) <= 1.0e-12 * abs(B["B40"])
        @test B["B40"] ≈
            7 /
                16 *
                LigandML.HARTREE_K *
                2 *
                (LigandML.BOHR_ANGSTROM / 2.3)^5 *
                stevens_factor("Er3+", 4) *
                radial_integral("Er3+", 4) rtol = 1.0e-12
    end

    @testset "XYZ reader" begin
        path, io = mktemp()
        write(io, "3\nEr with O and N\nEr 1 1 1\nO1 1 1 3.4\nN 1 1 -1.6\n")
        close(io)
        sphere = read_xyz(path)
        @test sphere.center == "Er" &&
            sphere.elements == ["O", "N"] &&
            sphere.comment == "Er with O and N"
        @test sphere.positions ≈ [0 0 2.4; 0 0 -2.6]
        by_element = point_charge_parameters(
            "Dy3+",
            sphere.positions;
            charges = Dict("O" => -2.0, "N" => -1.0),
            elements = sphere.elements,
        )
        @test by_element ==
            point_charge_parameters("Dy3+", sphere.positions; charges = [-2.0, -1.0])
        @test by_element["B20"] < 0 # oblate Dy3+ with axial anions
        spherical = point_charge_parameters(
            "Dy3+",
            [2.4 0 0; 2.6 180 0];
            charges = [-2.0, -1.0],
            coordinates = "spherical",
        )
        @test relative_error(
            structure_row(spherical, terms),
            structure_row(by_element, terms),
        ) <=
            1.0e-12
        write(path, "2\n\nEr 0 0 0\nXx 0 0 2\n")
        @test_throws ArgumentError read_xyz(path)
        write(path, "Er 0 0 0\nDy 0 0 4\nO 0 0 2\n")
        @test_throws ArgumentError read_xyz(path)
        rm(path)
    end

    @testset "bad input is refused" begin
        @test_throws ArgumentError point_charge_parameters(
            "Er3+",
            zeros(0, 3);
            charges = -1,
        )
        @test_throws ArgumentError point_charge_parameters(
            "Er3+",
            [0.0 0 0; 0 0 2];
            charges = -1,
        )
        @test_throws ArgumentError point_charge_parameters("Xx3+", [0.0 0 2]; charges = -1)
        @test_throws ArgumentError point_charge_parameters(
            "Er3+",
            [0.0 0 2];
            charges = -1,
            unit = "eV",
        )
        @test_throws ArgumentError superposition_parameters(
            "Er3+",
            [0.0 0 2];
            b = Dict(2 => 1.0),
            t = Dict(2 => 3, 4 => 5, 6 => 7),
            R0 = 2.0,
        )
        @test_throws ArgumentError radial_integral("Er3+", 3)
    end
end
