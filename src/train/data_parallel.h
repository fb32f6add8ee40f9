// Data-parallel training (docs/distributed.md): every rank holds the whole model, reads its share of
// each global batch, and the gradients are averaged over the ranks before one AdamW step.
//
// A step's global batch of B sequences is cut into S = ranks x micro_batches equal slices; rank r
// runs slices r*k .. r*k + k - 1 (k = micro_batches) one after another and sums their gradients in
// that order. The rank sums are then added in rank order, by hand: the parameters laid end to end
// (the flat layout, train/adamw.h) are cut into one shard per rank, an all-to-all gives each rank
// every rank's copy of its shard, it adds them rank 0 first and divides by S — a reduce-scatter
// whose additions are the same, in the same order, whatever MPI does underneath (which MPI's own
// reductions do not promise; core/communicator.h). Then either
//   plain: an all-gather gives every rank the whole mean gradient and every rank runs the same
//          AdamW update on the whole model, or
//   ZeRO-1 (zero = true): each rank updates its shard alone, keeping the moments of its shard
//          only, and an all-gather of the parameters gives every rank the whole model.
// Both make the same element-wise arithmetic on the same numbers, so they are bit-identical; and a
// run of N ranks x 1 slice is bit-identical to one process with micro_batches = N (the same
// slices, summed in the same order). One process with one slice moves nothing (the gradient stays
// where the backward left it).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "core/communicator.h"
#include "train/adamw.h"
#include "train/data_loader.h"

namespace stretch {

// The sequences of one slice: batch_size / (ranks x micro_batches); fails (one line naming
// batch_size) when the batch does not cut into that many equal slices.
std::int64_t rows_per_slice(const train_config& config, int ranks);

// Bytes data-parallel training adds to one process's training_memory (model/memory_estimate.h): the
// rank's gradient sum and what the all-to-all brings, [ranks, shard] f32 each, when a step has more
// than one slice. ZeRO-1 saves the other ranks' moments between checkpoints, but rank 0 holds them all
// while it writes one, so the estimate counts them.
double data_parallel_bytes(std::int64_t parameters, const train_config& config, int ranks);

class data_parallel {
public:
    data_parallel(parameter_list parameters, const communicator& ranks, const train_config& config);

    const communicator& ranks() const { return ranks_; }
    std::int64_t slices_per_rank() const { return slices_per_rank_; }
    std::int64_t rows_per_slice() const { return rows_per_slice_; }
    // The elements this rank's optimizer updates: its shard (ZeRO-1), else everything.
    flat_range owned() const;
    bool sharded() const { return sharded_; }

    // This rank's slice j (0-based) of the global batch: rows of [B, T] inputs, targets, positions.
    batch slice(const batch& global, std::int64_t j, std::int64_t window) const;

    // After each slice's backward: adds the gradients into this rank's running sum and zeroes them.
    void add_slice_gradients();
    // The mean gradient of every slice of every rank, left in the parameters' gradients: on the owned
    // elements (ZeRO-1), else on all of them.
    void reduce_gradients();
    // The mean of every slice's loss, from this rank's sum of its slices' losses (same on every rank).
    double mean_loss(double local_sum) const;
    // The global norm of the mean gradient (same on every rank, the same number as one process's).
    double grad_norm(const adamw& optimizer) const;
    // The first parameter with a non-finite mean gradient, or "" (same on every rank).
    std::string first_non_finite_grad(const adamw& optimizer) const;
    // After a sharded update: every rank's shard of the parameter values to every rank.
    void share_parameters();
    // Rank 0's parameter values to every rank.
    void broadcast_parameters();

    // Checkpoints under ZeRO-1: every rank's moments into `whole` (an optimizer of every element) on
    // rank 0, null elsewhere. And for a resume, the reverse: rank 0's `whole` to every rank's own
    // optimizer, its shard or (plain) all of it.
    void gather_moments(const adamw& mine, adamw* whole) const;
    void scatter_moments(const adamw* whole, adamw& mine) const;

private:
    flat_range shard_of(int rank) const;

    parameter_list parameters_;
    communicator ranks_;
    bool sharded_;
    std::int64_t slices_per_rank_, rows_per_slice_;
    std::int64_t total_;  // elements in the flat layout
    std::int64_t shard_;  // elements per rank's shard, whole norm blocks (the last shard is padded)
    std::int64_t slices_added_ = 0;
    std::vector<float> sum_;       // [ranks, shard] this rank's gradient sum over its slices
    std::vector<float> received_;  // [ranks, shard] every rank's sum of this rank's shard
};

}  // namespace stretch
