# Golden vectors of the single-crystal and folded-grid kernels (julia/src/single_crystal.jl),
# written from the NumPy reference (python/ligandml/finite_field.py) by scripts/make_golden.py.
# Included from runtests.jl, which reads the golden directory as GOLDEN_DIR.

append!(GOLDEN_FILES, ["single_crystal_d3d.txt"]) # the directory check counts this file
const SINGLE_CRYSTAL_TOL = 1.0e-9

"""
    golden_table(blocks, name, n_sets, n_fields) -> Array{Float64,3}

A (set, field, T) table stored as rows set * n_fields + field.
"""
function golden_table(blocks, name, n_sets, n_fields)
    rows = blocks[name]
    out = zeros(n_sets, n_fields, size(rows, 2))
    for s in 1:n_sets, b in 1:n_fields
        out[s, b, :] .= rows[(s - 1) * n_fields + b, :]
    end
    return out
end

@testset "single crystal and folded grids (single_crystal_d3d.txt)" begin
    blocks = read_golden(joinpath(GOLDEN_DIR, "single_crystal_d3d.txt"))
    ion, batch = golden_batch(blocks)
    fields = vec(blocks["fields"])
    T = vec(blocks["T"])
    N, nB = n_sets(batch), length(fields)
    table(name) = golden_table(blocks, name, N, nB)
    rel(a, b) = maximum(abs, a .- b) / maximum(abs, b)

    sym = LigandML.integrand_symmetry(batch)
    @test sym.rotation_order == 3 && sym.mirror
    # the folded grid: the same points and weights as the NumPy reference
    dirs, w = LigandML.reduced_product_grid(sym, 6, 2)
    @test size(dirs) == size(blocks["folded_directions"])
    @test maximum(abs, dirs .- blocks["folded_directions"]) <= 1.0e-12
    @test maximum(abs, w .- vec(blocks["folded_weights"])) <= 1.0e-12
    @test sum(w) ≈ 1.0 rtol = 1.0e-14
    # ... and the number the full product rule gives (time reversal, C3, mirror)
    z, phi, wf = LigandML.full_product_grid(6, 12)
    full = reduce(vcat, [LigandML.unit_vector(z[i], phi[i])' for i in eachindex(z)])
    folded = grid_moments(ion, batch, fields, T, dirs, w)
    @test rel(folded, table("moment_folded")) <= SINGLE_CRYSTAL_TOL
    @test rel(grid_moments(ion, batch, fields, T, full, wf), folded) <= 1.0e-11
    # a set without the threefold axis is not folded
    low = StevensBatch([2, 2], [0, 1], [1.0 0.1])
    @test !LigandML.isreducible(LigandML.integrand_symmetry(low))
    @test_throws ArgumentError powder_magnetization_table(ion, low, [1.0], [2.0])
    # the automatic powder M(H) table, the plane grid and single directions
    @test rel(powder_magnetization_table(ion, batch, fields, T), table("powder_table")) <=
        SINGLE_CRYSTAL_TOL
    pdirs, pw = LigandML.plane_grid(sym, 2, 48)
    @test maximum(abs, pdirs .- blocks["plane_directions"]) <= 1.0e-12
    @test maximum(abs, pw .- vec(blocks["plane_weights"])) <= 1.0e-12
    for (direction, name) in (
            ("plane", "moment_plane"),
            ("z", "moment_z"),
            ("x", "moment_x"),
            ([1.0, 2.0, -0.5], "moment_vector"),
        )
        M = crystal_magnetization_table(ion, batch, fields, T, direction)
        @test rel(M, table(name)) <= SINGLE_CRYSTAL_TOL
    end
    @test crystal_magnetization_table(ion, batch, fields, T, "z") ≈
        crystal_magnetization_table(ion, batch, fields, T, [0.0, 0.0, 3.0]) rtol = 1.0e-13
    for row in eachrow(blocks["density"])
        @test LigandML.grid_density(ion, row[1], row[2], 3) == (Int(row[3]), Int(row[4]))
    end
    # free ion: M(H) is the Brillouin function at every field
    free = StevensBatch([2], [0], zeros(1, 1))
    B = collect(0.2:0.4:9.0)
    x = ion.gJ * LigandML.MU_B_OVER_K_B * ion.J .* B ./ 2.0
    a, b = (2ion.J + 1) / (2ion.J), 1 / (2ion.J)
    brillouin = a ./ tanh.(a .* x) .- b ./ tanh.(b .* x)
    @test vec(powder_magnetization_table(ion, free, B, [2.0])) ≈
        ion.gJ * ion.J .* brillouin rtol = 1.0e-9
end
