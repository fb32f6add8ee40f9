#include "core/communicator.h"

#include <climits>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string_view>

#ifdef STRETCH_MPI
#include <mpi.h>
#endif

#include "core/error.h"
#include "core/numbers.h"

namespace stretch {

namespace {

// The rank count a launcher gave this process in its environment: Open MPI's mpirun, MPICH's
// Hydra and Slurm's PMI set their own variables; PMIx (srun --mpi=pmix, Open MPI 5) gives the rank
// alone. 0: no launcher; -1: launched, count unknown.
int launched_size() {
    for (const char* name : {"OMPI_COMM_WORLD_SIZE", "PMI_SIZE"})
        if (const char* value = std::getenv(name)) return std::atoi(value);
    return std::getenv("PMIX_RANK") ? -1 : 0;
}

#ifdef STRETCH_MPI

MPI_Comm comm_of(int handle) { return MPI_Comm_f2c(handle); }

// MPI counts are int: a buffer past 2^31 - 1 elements would need splitting, which no model stretch
// trains on a CPU reaches (8 GiB of f32 gradient).
int count_of(std::size_t n) {
    STRETCH_ASSERT(n <= std::size_t(INT_MAX));
    return int(n);
}

#endif

}  // namespace

#ifdef STRETCH_MPI

void communicator::broadcast(std::span<std::byte> bytes) const {
    if (size_ > 1) MPI_Bcast(bytes.data(), count_of(bytes.size()), MPI_BYTE, 0, comm_of(handle_));
}

std::string communicator::broadcast(const std::string& text) const {
    if (size_ == 1) return text;
    std::int64_t length = std::int64_t(text.size());
    MPI_Bcast(&length, 1, MPI_INT64_T, 0, comm_of(handle_));
    std::string out = root() ? text : std::string(std::size_t(length), '\0');
    broadcast(std::as_writable_bytes(std::span(out.data(), out.size())));
    return out;
}

void communicator::all_gather(std::span<const float> mine, std::span<float> all) const {
    STRETCH_ASSERT(all.size() == mine.size() * std::size_t(size_));
    if (size_ == 1) {
        std::copy(mine.begin(), mine.end(), all.begin());
        return;
    }
    MPI_Allgather(mine.data(), count_of(mine.size()), MPI_FLOAT, all.data(), count_of(mine.size()), MPI_FLOAT,
                  comm_of(handle_));
}

void communicator::all_gather(std::span<const double> mine, std::span<double> all) const {
    STRETCH_ASSERT(all.size() == mine.size() * std::size_t(size_));
    if (size_ == 1) {
        std::copy(mine.begin(), mine.end(), all.begin());
        return;
    }
    MPI_Allgather(mine.data(), count_of(mine.size()), MPI_DOUBLE, all.data(), count_of(mine.size()), MPI_DOUBLE,
                  comm_of(handle_));
}

std::vector<double> communicator::all_gather(double mine) const {
    std::vector<double> all(std::size_t(size_), mine);
    if (size_ > 1) MPI_Allgather(&mine, 1, MPI_DOUBLE, all.data(), 1, MPI_DOUBLE, comm_of(handle_));
    return all;
}

std::vector<std::int64_t> communicator::all_gather(std::int64_t mine) const {
    std::vector<std::int64_t> all(std::size_t(size_), mine);
    if (size_ > 1) MPI_Allgather(&mine, 1, MPI_INT64_T, all.data(), 1, MPI_INT64_T, comm_of(handle_));
    return all;
}

namespace {

// Texts of every rank (to `root` only, or to all when root < 0): the lengths first, then the bytes.
std::vector<std::string> gather_texts(const std::string& mine, int size, int rank, MPI_Comm comm, int root) {
    const std::int64_t length = std::int64_t(mine.size());
    std::vector<std::int64_t> lengths(static_cast<std::size_t>(size));
    if (root < 0) MPI_Allgather(&length, 1, MPI_INT64_T, lengths.data(), 1, MPI_INT64_T, comm);
    else MPI_Gather(&length, 1, MPI_INT64_T, lengths.data(), 1, MPI_INT64_T, root, comm);
    const bool receives = root < 0 || rank == root;
    std::vector<int> counts(static_cast<std::size_t>(size)), offsets(static_cast<std::size_t>(size));
    std::size_t total = 0;
    for (int r = 0; r < size; ++r) {
        counts[std::size_t(r)] = count_of(std::size_t(lengths[std::size_t(r)]));
        offsets[std::size_t(r)] = count_of(total);
        total += std::size_t(lengths[std::size_t(r)]);
    }
    std::string bytes(receives ? total : 0, '\0');
    if (root < 0)
        MPI_Allgatherv(mine.data(), count_of(mine.size()), MPI_CHAR, bytes.data(), counts.data(), offsets.data(),
                       MPI_CHAR, comm);
    else
        MPI_Gatherv(mine.data(), count_of(mine.size()), MPI_CHAR, bytes.data(), counts.data(), offsets.data(), MPI_CHAR,
                    root, comm);
    std::vector<std::string> out;
    if (receives)
        for (int r = 0; r < size; ++r)
            out.push_back(bytes.substr(std::size_t(offsets[std::size_t(r)]), std::size_t(counts[std::size_t(r)])));
    return out;
}

}  // namespace

std::vector<std::string> communicator::all_gather(const std::string& mine) const {
    if (size_ == 1) return {mine};
    return gather_texts(mine, size_, rank_, comm_of(handle_), -1);
}

void communicator::gather(std::span<const float> mine, std::span<float> all) const {
    if (size_ == 1) {
        std::copy(mine.begin(), mine.end(), all.begin());
        return;
    }
    if (root()) STRETCH_ASSERT(all.size() == mine.size() * std::size_t(size_));
    MPI_Gather(mine.data(), count_of(mine.size()), MPI_FLOAT, all.data(), count_of(mine.size()), MPI_FLOAT, 0,
               comm_of(handle_));
}

std::vector<std::string> communicator::gather(const std::string& mine) const {
    if (size_ == 1) return {mine};
    return gather_texts(mine, size_, rank_, comm_of(handle_), 0);
}

void communicator::scatter(std::span<const float> all, std::span<float> mine) const {
    if (size_ == 1) {
        std::copy(all.begin(), all.begin() + std::ptrdiff_t(mine.size()), mine.begin());
        return;
    }
    if (root()) STRETCH_ASSERT(all.size() == mine.size() * std::size_t(size_));
    MPI_Scatter(all.data(), count_of(mine.size()), MPI_FLOAT, mine.data(), count_of(mine.size()), MPI_FLOAT, 0,
                comm_of(handle_));
}

void communicator::exchange(std::span<const float> send, std::span<float> receive) const {
    STRETCH_ASSERT(send.size() == receive.size() && send.size() % std::size_t(size_) == 0);
    if (size_ == 1) {
        std::copy(send.begin(), send.end(), receive.begin());
        return;
    }
    const int block = count_of(send.size() / std::size_t(size_));
    MPI_Alltoall(send.data(), block, MPI_FLOAT, receive.data(), block, MPI_FLOAT, comm_of(handle_));
}

void communicator::mpi_all_reduce_sum(std::span<float> values) const {
    if (size_ > 1)
        MPI_Allreduce(MPI_IN_PLACE, values.data(), count_of(values.size()), MPI_FLOAT, MPI_SUM, comm_of(handle_));
}

void communicator::barrier() const {
    if (size_ > 1) MPI_Barrier(comm_of(handle_));
}

void communicator::abort(int code) const {
    std::fflush(stdout);
    std::fflush(stderr);
    if (size_ > 1) MPI_Abort(comm_of(handle_), code);
    std::_Exit(code);
}

std::string mpi_launcher() { return STRETCH_MPIEXEC; }

mpi_session::mpi_session(int& argc, char**& argv) {
    if (launched_size() == 0) return;
    int provided = 0;
    // Only the main thread calls MPI; the thread pool's workers compute between the calls.
    MPI_Init_thread(&argc, &argv, MPI_THREAD_FUNNELED, &provided);
    started_ = true;
    MPI_Comm_rank(MPI_COMM_WORLD, &world_.rank_);
    MPI_Comm_size(MPI_COMM_WORLD, &world_.size_);
    world_.handle_ = int(MPI_Comm_c2f(MPI_COMM_WORLD));
    MPI_Comm local;
    MPI_Comm_split_type(MPI_COMM_WORLD, MPI_COMM_TYPE_SHARED, 0, MPI_INFO_NULL, &local);
    MPI_Comm_size(local, &world_.local_size_);
    MPI_Comm_free(&local);
}

mpi_session::~mpi_session() {
    if (started_) MPI_Finalize();
}

#else  // built without MPI: the single process only

void communicator::broadcast(std::span<std::byte>) const {}
std::string communicator::broadcast(const std::string& text) const { return text; }
void communicator::all_gather(std::span<const float> mine, std::span<float> all) const {
    std::copy(mine.begin(), mine.end(), all.begin());
}
void communicator::all_gather(std::span<const double> mine, std::span<double> all) const {
    std::copy(mine.begin(), mine.end(), all.begin());
}
std::vector<double> communicator::all_gather(double mine) const { return {mine}; }
std::vector<std::int64_t> communicator::all_gather(std::int64_t mine) const { return {mine}; }
std::vector<std::string> communicator::all_gather(const std::string& mine) const { return {mine}; }
void communicator::gather(std::span<const float> mine, std::span<float> all) const {
    std::copy(mine.begin(), mine.end(), all.begin());
}
std::vector<std::string> communicator::gather(const std::string& mine) const { return {mine}; }
void communicator::scatter(std::span<const float> all, std::span<float> mine) const {
    std::copy(all.begin(), all.begin() + std::ptrdiff_t(mine.size()), mine.begin());
}
void communicator::exchange(std::span<const float> send, std::span<float> receive) const {
    std::copy(send.begin(), send.end(), receive.begin());
}
void communicator::mpi_all_reduce_sum(std::span<float>) const {}
void communicator::barrier() const {}
void communicator::abort(int code) const {
    std::fflush(stdout);
    std::fflush(stderr);
    std::_Exit(code);
}

std::string mpi_launcher() { return ""; }

mpi_session::mpi_session(int&, char**&) {
    const char* rank = std::getenv("OMPI_COMM_WORLD_RANK") ? std::getenv("OMPI_COMM_WORLD_RANK") : std::getenv("PMIX_RANK");
    const int size = launched_size();
    if (size > 1 || (rank != nullptr && std::atoi(rank) > 0))
        fail("started by an MPI launcher as one of {} ranks, but this stretch was built without MPI; install "
             "libopenmpi-dev and rebuild (docs/distributed.md), or run a single process",
             size > 1 ? std::to_string(size) : std::string("several"));
}

mpi_session::~mpi_session() = default;

#endif

}  // namespace stretch
