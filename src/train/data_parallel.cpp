#include "train/data_parallel.h"

#include <algorithm>
#include <cmath>
#include <cstring>

#include <fmt/format.h>

#include "core/error.h"
#include "core/thread_pool.h"

namespace stretch {

namespace {

// Parameter values or gradients of `range` to a flat array (an undefined gradient reads as zeros).
void pack(const parameter_list& parameters, flat_range range, std::span<float> out, bool gradients) {
    for_each_part(parameters, range, [&](std::size_t i, std::int64_t first, std::int64_t count, std::int64_t flat) {
        const tensor& t = gradients ? parameters[i].second->grad : parameters[i].second->value;
        float* to = out.data() + (flat - range.begin);
        if (t.defined()) std::memcpy(to, t.data<float>() + first, std::size_t(count) * sizeof(float));
        else std::fill(to, to + count, 0.0f);
    });
}

// The reverse (an undefined gradient stays undefined: its parameter is not updated).
void unpack(const parameter_list& parameters, flat_range range, std::span<const float> in, bool gradients) {
    for_each_part(parameters, range, [&](std::size_t i, std::int64_t first, std::int64_t count, std::int64_t flat) {
        tensor& t = gradients ? parameters[i].second->grad : parameters[i].second->value;
        if (t.defined())
            std::memcpy(t.data<float>() + first, in.data() + (flat - range.begin), std::size_t(count) * sizeof(float));
    });
}

}  // namespace

std::int64_t rows_per_slice(const train_config& config, int ranks) {
    const std::int64_t slices = ranks * config.micro_batches;
    if (config.batch_size % slices != 0)
        fail("batch_size = {}: does not cut into {} rank(s) x micro_batches {} = {} equal slices; expected a multiple "
             "of {}",
             config.batch_size, ranks, config.micro_batches, slices, slices);
    return config.batch_size / slices;
}

double data_parallel_bytes(std::int64_t parameters, const train_config& config, int ranks) {
    if (ranks * config.micro_batches == 1) return 0;
    const std::int64_t per_rank = norm_block * ranks;
    const std::int64_t padded = (parameters + per_rank - 1) / per_rank * per_rank;
    return 2.0 * double(padded) * sizeof(float);
}

data_parallel::data_parallel(parameter_list parameters, const communicator& ranks, const train_config& config)
    : parameters_(std::move(parameters)),
      ranks_(ranks),
      sharded_(config.zero),
      slices_per_rank_(config.micro_batches),
      rows_per_slice_(stretch::rows_per_slice(config, ranks.size())) {
    total_ = flat_size(parameters_);
    const std::int64_t per_rank = norm_block * ranks_.size();
    shard_ = (total_ + per_rank - 1) / per_rank * norm_block;
}

flat_range data_parallel::shard_of(int rank) const {
    return {std::min(rank * shard_, total_), std::min((rank + 1) * shard_, total_)};
}

flat_range data_parallel::owned() const { return sharded_ ? shard_of(ranks_.rank()) : flat_range{0, total_}; }

batch data_parallel::slice(const batch& global, std::int64_t j, std::int64_t window) const {
    const std::int64_t first = (ranks_.rank() * slices_per_rank_ + j) * rows_per_slice_ * window;
    const std::int64_t count = rows_per_slice_ * window;
    const auto rows = [&](const auto& v) {
        using vector = std::decay_t<decltype(v)>;
        return v.empty() ? vector{} : vector(v.begin() + first, v.begin() + first + count);
    };
    return {rows(global.inputs), rows(global.targets), rows(global.positions)};
}

void data_parallel::add_slice_gradients() {
    if (ranks_.size() * slices_per_rank_ == 1) return;  // the gradient stays where the backward left it
    const auto n = std::size_t(ranks_.size() * shard_);
    if (sum_.empty()) sum_.assign(n, 0.0f), received_.assign(n, 0.0f);
    if (slices_added_ == 0) {
        pack(parameters_, {0, total_}, sum_, true);
    } else {
        for_each_part(parameters_, {0, total_}, [&](std::size_t i, std::int64_t, std::int64_t count, std::int64_t flat) {
            const tensor& grad = parameters_[i].second->grad;
            if (!grad.defined()) return;
            const float* g = grad.data<float>();
            float* s = sum_.data() + flat;
            pool().parallel_for(count, [&](std::int64_t j0, std::int64_t j1, int) {
                for (std::int64_t j = j0; j < j1; ++j) s[j] += g[j];
            });
        });
    }
    for (auto& [name, p] : parameters_)
        if (p->grad.defined()) p->grad.fill_zero();
    ++slices_added_;
}

void data_parallel::reduce_gradients() {
    const std::int64_t slices = ranks_.size() * slices_per_rank_;
    if (slices == 1) return;
    STRETCH_ASSERT(slices_added_ == slices_per_rank_);
    slices_added_ = 0;
    ranks_.exchange(sum_, received_);
    // received_ block r: rank r's sum of this rank's shard. Added rank 0 first, into block 0.
    const int n_ranks = ranks_.size();
    const float divisor = float(slices);
    float* mean = received_.data();
    pool().parallel_for(shard_, [&](std::int64_t j0, std::int64_t j1, int) {
        for (std::int64_t j = j0; j < j1; ++j) {
            float s = mean[j];
            for (int r = 1; r < n_ranks; ++r) s += received_[std::size_t(r * shard_ + j)];
            mean[j] = s / divisor;
        }
    });
    const std::span<const float> my_mean(mean, std::size_t(shard_));
    if (sharded_) {
        unpack(parameters_, owned(), my_mean, true);
        return;
    }
    ranks_.all_gather(my_mean, sum_);  // [ranks, shard]: the whole mean gradient, in flat order
    unpack(parameters_, {0, total_}, sum_, true);
}

double data_parallel::mean_loss(double local_sum) const {
    double total = 0;
    for (const double s : ranks_.all_gather(local_sum)) total += s;  // rank order
    return total / double(ranks_.size() * slices_per_rank_);
}

double data_parallel::grad_norm(const adamw& optimizer) const {
    if (!sharded_) return optimizer.grad_norm();
    // Each rank's partials of its shard, padded to whole shards with zeros (which add nothing).
    std::vector<double> mine = optimizer.grad_square_partials();
    mine.resize(std::size_t(shard_ / norm_block), 0.0);
    std::vector<double> all(mine.size() * std::size_t(ranks_.size()));
    ranks_.all_gather(mine, all);
    double sum = 0;
    for (const double partial : all) sum += partial;
    return std::sqrt(sum);
}

std::string data_parallel::first_non_finite_grad(const adamw& optimizer) const {
    const std::string* bad = optimizer.first_non_finite_grad();
    if (!sharded_) return bad ? *bad : std::string();
    // Shards follow the flat order: the lowest rank that found one found the first.
    for (const std::string& name : ranks_.all_gather(bad ? *bad : std::string()))
        if (!name.empty()) return name;
    return {};
}

void data_parallel::share_parameters() {
    if (!sharded_ || ranks_.size() == 1) return;
    const std::span<float> mine(sum_.data(), std::size_t(shard_));
    std::fill(mine.begin(), mine.end(), 0.0f);
    pack(parameters_, owned(), mine, false);
    ranks_.all_gather(mine, received_);
    unpack(parameters_, {0, total_}, received_, false);
}

void data_parallel::broadcast_parameters() {
    if (ranks_.size() == 1) return;
    std::vector<float> values(static_cast<std::size_t>(total_));
    if (ranks_.root()) pack(parameters_, {0, total_}, values, false);
    ranks_.broadcast(std::span<float>(values));
    unpack(parameters_, {0, total_}, values, false);
}

void data_parallel::gather_moments(const adamw& mine, adamw* whole) const {
    STRETCH_ASSERT(sharded_ && (whole != nullptr) == ranks_.root());
    const auto n = std::size_t(shard_);
    std::vector<float> local(2 * n, 0.0f), all(ranks_.root() ? 2 * n * std::size_t(ranks_.size()) : 0);
    mine.read_moments(owned(), std::span(local).first(n), std::span(local).last(n));
    ranks_.gather(local, all);
    if (!ranks_.root()) return;
    for (int r = 0; r < ranks_.size(); ++r) {
        const std::span<const float> block = std::span<const float>(all).subspan(2 * n * std::size_t(r), 2 * n);
        whole->write_moments(shard_of(r), block.first(n), block.last(n));
    }
}

void data_parallel::scatter_moments(const adamw* whole, adamw& mine) const {
    STRETCH_ASSERT((whole != nullptr) == ranks_.root());
    if (!sharded_) {
        std::vector<float> m(static_cast<std::size_t>(total_)), v(m.size());
        if (ranks_.root()) whole->read_moments({0, total_}, m, v);
        ranks_.broadcast(std::span<float>(m));
        ranks_.broadcast(std::span<float>(v));
        mine.write_moments({0, total_}, m, v);
        return;
    }
    const auto n = std::size_t(shard_);
    std::vector<float> all(ranks_.root() ? 2 * n * std::size_t(ranks_.size()) : 0, 0.0f), local(2 * n);
    if (ranks_.root())
        for (int r = 0; r < ranks_.size(); ++r) {
            const std::span<float> block = std::span<float>(all).subspan(2 * n * std::size_t(r), 2 * n);
            whole->read_moments(shard_of(r), block.first(n), block.last(n));
        }
    ranks_.scatter(all, local);
    mine.write_moments(owned(), std::span(local).first(n), std::span(local).last(n));
}

}  // namespace stretch
