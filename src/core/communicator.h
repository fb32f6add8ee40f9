// The processes that train or evaluate together: MPI ranks when stretch runs under mpirun and was
// built with MPI (docs/distributed.md), else the single process (rank 0 of 1). A communicator is a
// small value passed to whatever needs it; the library keeps no global one. `mpi_session` (main
// owns one) starts and ends MPI.
//
// Every collective is pure data movement (broadcast, gather, all-gather, all-to-all). Sums across
// ranks are done by the caller in rank order on the data moved, because MPI does not fix the order
// of its own reductions: the standard only "strongly recommends" that MPI_Reduce give the same
// result for the same arguments in the same order (MPI 4.0, section 6.9.1, advice to implementors),
// and Open MPI picks its all-reduce algorithm by message size and rank count, so both the order and
// the grouping of the additions change with them. `mpi_all_reduce_sum` exists for the benchmark
// only, as the figure stretch's ordered reduction is compared with.
//
// Every rank must call the same collectives in the same order; on a single process each is a copy.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <vector>

namespace stretch {

class communicator {
public:
    communicator() = default;  // the single process

    int rank() const { return rank_; }
    int size() const { return size_; }
    bool root() const { return rank_ == 0; }
    // Ranks on this machine (for the default thread count: the cores are shared among them).
    int local_size() const { return local_size_; }

    // Rank 0's bytes or text on every rank.
    void broadcast(std::span<std::byte> bytes) const;
    void broadcast(std::span<float> values) const { broadcast(std::as_writable_bytes(values)); }
    std::string broadcast(const std::string& text) const;

    // `mine` from every rank, in rank order: all[r * n + i] = rank r's mine[i], n = mine.size().
    void all_gather(std::span<const float> mine, std::span<float> all) const;
    void all_gather(std::span<const double> mine, std::span<double> all) const;
    std::vector<double> all_gather(double mine) const;
    std::vector<std::int64_t> all_gather(std::int64_t mine) const;
    std::vector<std::string> all_gather(const std::string& mine) const;
    // The same into rank 0 only (`all` is read on rank 0 alone and may be empty elsewhere).
    void gather(std::span<const float> mine, std::span<float> all) const;
    std::vector<std::string> gather(const std::string& mine) const;  // empty on other ranks
    // The inverse of gather: rank r receives all[r * n, (r + 1) * n), n = mine.size().
    void scatter(std::span<const float> all, std::span<float> mine) const;
    // All-to-all of equal blocks: block r of `send` goes to rank r; block r of `receive` came from
    // rank r (both are size() blocks long).
    void exchange(std::span<const float> send, std::span<float> receive) const;

    // MPI_Allreduce with MPI_SUM in place: for `stretch bench --distributed` only (see above).
    void mpi_all_reduce_sum(std::span<float> values) const;
    void barrier() const;
    // Ends every rank of the job with `code` (MPI_Abort); exits on a single process.
    [[noreturn]] void abort(int code) const;

private:
    friend class mpi_session;
    int rank_ = 0, size_ = 1, local_size_ = 1;
    int handle_ = 0;  // the communicator's Fortran handle (MPI_Comm_c2f), portable across MPI libraries
};

// What this build can do: the launcher of the MPI it was built with (mpiexec's path), or "" when
// built without MPI.
std::string mpi_launcher();

// MPI for the life of the process. Starts MPI only when a launcher started this process (mpirun,
// mpiexec or srun set its environment); otherwise the world is the single process and MPI is never
// touched. Launched with several ranks by a build without MPI: throws stretch::error, since every
// rank would otherwise run the whole job and write the same files.
class mpi_session {
public:
    mpi_session(int& argc, char**& argv);
    ~mpi_session();
    mpi_session(const mpi_session&) = delete;
    mpi_session& operator=(const mpi_session&) = delete;

    const communicator& world() const { return world_; }

private:
    communicator world_;
    bool started_ = false;
};

}  // namespace stretch
