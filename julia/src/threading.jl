# Work splitting for the sweeps. The set range (or the direction range) is cut into contiguous
# chunks, one task per chunk, and each task allocates its own workspace once: no workspace is
# shared, and nothing is indexed by threadid(), so the results do not depend on scheduling.

"""
    chunk_ranges(n, nchunks) -> Vector{UnitRange{Int}}

Split 1:n into at most `nchunks` contiguous ranges whose lengths differ by at most one.
"""
function chunk_ranges(n::Integer, nchunks::Integer)
    nchunks = max(1, min(nchunks, n))
    base, extra = divrem(n, nchunks)
    ranges = Vector{UnitRange{Int}}(undef, nchunks)
    start = 1
    for c in 1:nchunks
        len = base + (c <= extra ? 1 : 0)
        ranges[c] = start:(start + len - 1)
        start += len
    end
    return ranges
end

"""
    foreach_chunk(work, ranges)

Run `work(c, ranges[c])` for every chunk, one task per chunk on Julia's thread pool, and wait
for all of them (errors propagate). A single chunk runs on the calling task.
"""
function foreach_chunk(work, ranges::Vector{UnitRange{Int}})
    if length(ranges) == 1
        work(1, ranges[1])
        return nothing
    end
    tasks = [Threads.@spawn(work(c, ranges[c])) for c in eachindex(ranges)]
    foreach(fetch, tasks)
    return nothing
end

"""
    with_single_threaded_blas(f)

Call `f()` with BLAS limited to one thread when Julia runs several threads (the matrices are
small; nested BLAS threads would only compete with the sweep's own), restoring the setting after.
"""
function with_single_threaded_blas(f)
    Threads.nthreads() == 1 && return f()
    previous = BLAS.get_num_threads()
    BLAS.set_num_threads(1)
    try
        return f()
    finally
        BLAS.set_num_threads(previous)
    end
end
