# Reader of the golden-vector files written by scripts/make_golden.py (standard library only).
#
# Format: '#' lines are comments; a block starts with '@ name rows cols' and is followed by
# `rows` lines of `cols` whitespace-separated numbers.

"""
    read_golden(path) -> Dict{String,Matrix{Float64}}

Every block of a golden file, by name. Throws an `ErrorException` naming the file and line on
malformed input.
"""
function read_golden(path::AbstractString)
    blocks = Dict{String, Matrix{Float64}}()
    lines = readlines(path)
    i = 1
    while i <= length(lines)
        line = strip(lines[i])
        if isempty(line) || startswith(line, "#")
            i += 1
            continue
        end
        header = split(line)
        if length(header) != 4 || header[1] != "@"
            error("$path:$i: expected '@ name rows cols', got $(repr(line))")
        end
        name = String(header[2])
        rows = parse(Int, header[3])
        cols = parse(Int, header[4])
        i + rows <= length(lines) || error("$path:$i: block $name needs $rows rows")
        data = Matrix{Float64}(undef, rows, cols)
        for r in 1:rows
            values = split(lines[i + r])
            length(values) == cols ||
                error("$path:$(i + r): expected $cols numbers, got $(length(values))")
            for c in 1:cols
                data[r, c] = parse(Float64, values[c])
            end
        end
        haskey(blocks, name) && error("$path:$i: block $name appears twice")
        blocks[name] = data
        i += rows + 1
    end
    return blocks
end

"""
    scalar(blocks, name) -> Float64

The single number of a 1 x 1 block.
"""
function scalar(blocks::Dict{String, Matrix{Float64}}, name::AbstractString)
    block = blocks[name]
    size(block) == (1, 1) || error("block $name is $(size(block)), not a scalar")
    return block[1, 1]
end

"""
    golden_batch(blocks) -> (Ion, StevensBatch)

The ion (J, gJ) and the parameter sets (terms k q, coefficients [K]) stored in a golden file.
"""
function golden_batch(blocks::Dict{String, Matrix{Float64}})
    ion = Ion("golden", scalar(blocks, "J"), scalar(blocks, "gJ"))
    terms = blocks["terms"]
    ks = round.(Int, terms[:, 1])
    qs = round.(Int, terms[:, 2])
    return ion, StevensBatch(ks, qs, blocks["coeffs"])
end

"""
    relative_error(actual, expected) -> Float64

max |actual - expected| / max(1e-300, max |expected|): the error relative to the block's scale.
"""
function relative_error(actual::AbstractArray, expected::AbstractArray)
    size(actual) == size(expected) || error("size $(size(actual)) != $(size(expected))")
    return maximum(abs, actual .- expected) / max(1.0e-300, maximum(abs, expected))
end

"""
    max_pointwise_relative_error(actual, expected) -> Float64

max over elements of |actual - expected| / |expected| (for strictly non-zero data like chi).
"""
function max_pointwise_relative_error(actual::AbstractArray, expected::AbstractArray)
    size(actual) == size(expected) || error("size $(size(actual)) != $(size(expected))")
    return maximum(abs.(actual .- expected) ./ abs.(expected))
end
