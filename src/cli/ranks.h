// What the verbs that run under mpirun share (docs/distributed.md): the default thread count, and
// items of work spread over the ranks with their results collected on rank 0 in order.
#pragma once

#include <cstddef>
#include <functional>
#include <string>
#include <vector>

#include "core/communicator.h"

namespace stretch::cli {

// --threads when given, else every core, shared among the ranks mpirun started on this machine.
void use_threads(int threads, const communicator& world);

// Runs item(i) for every i in [0, count) on rank i mod size; returns, on rank 0, every item's bytes in
// index order (empty on the other ranks). A rank that fails ends the job (cli/main.cpp).
std::vector<std::string> spread_over_ranks(const communicator& world, std::size_t count,
                                           const std::function<std::string(std::size_t)>& item);

}  // namespace stretch::cli
