// The files `stretch sweep` and `stretch zoo` write, compared between two output folders: every
// number but the seconds each cell took (a timing, different in every run) must be equal, bit for bit.
#pragma once

#include <sstream>
#include <string>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "support/cli.h"

namespace stretch::test {

// results.csv without its last column (seconds), results.json without each row's "seconds".
inline std::string without_seconds(const std::string& dir, const std::string& file) {
    const std::string text = read_file(dir + "/" + file);
    if (file == "results.json") {
        auto document = nlohmann::json::parse(text);
        for (auto& row : document["results"]) row.erase("seconds");
        return document.dump(1);
    }
    std::string out;
    std::istringstream lines(text);
    for (std::string line; std::getline(lines, line);) out += line.substr(0, line.rfind(',')) + "\n";
    return out;
}

inline void expect_same_sweep_files(const std::string& a, const std::string& b) {
    for (const char* file : {"results.csv", "results.json"}) EXPECT_EQ(without_seconds(a, file), without_seconds(b, file)) << file;
    for (const char* file : {"table.md", "plot.svg", "leaderboard.md"}) {
        EXPECT_FALSE(read_file(a + "/" + file).empty()) << file;
        EXPECT_EQ(read_file(a + "/" + file), read_file(b + "/" + file)) << file;
    }
}

}  // namespace stretch::test
