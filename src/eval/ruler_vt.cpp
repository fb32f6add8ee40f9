#include "eval/ruler_vt.h"

#include <fmt/format.h>

#include <algorithm>
#include <memory>
#include <set>

namespace stretch {

namespace {

// scripts/data/synthetic/constants.py, task variable_tracking: template + answer_prefix ("assgined"
// is RULER's spelling).
constexpr std::string_view vt_template =
    "Memorize and track the chain(s) of variable assignment hidden in the following text.\n\n{context}\nQuestion: "
    "Find all variables that are assigned the value {query} in the text above. Answer: According to the chain(s) "
    "of variable assignment in the text above, {num_v} variables are assgined the value {query}, they are: ";
constexpr std::string_view noise_sentence =
    "The grass is green. The sky is blue. The sun is yellow. Here we go. There and back again.";
constexpr std::int64_t hops = 4;            // synthetic.yaml vt: num_chains 1, num_hops 4

struct vt_text {
    std::string prompt, context;
    std::vector<std::string> names;
};

// One chain of `hops` hops with names of `letters` capital letters, in a noise haystack of `size`
// sentences, filled into the template (answer prefix included).
vt_text make_text(std::int64_t size, int letters, rng& r) {
    std::set<std::string> taken;
    vt_text t;
    while (std::int64_t(t.names.size()) < hops + 1) {
        std::string name;
        for (int i = 0; i < letters; ++i) name += char('A' + r.below(26));
        if (taken.insert(name).second) t.names.push_back(name);
    }
    const std::string value = std::to_string(10000 + r.below(89999));  // np.random.randint(10000, 99999)
    std::vector<std::string> chain{fmt::format("VAR {} = {}", t.names[0], value)};
    for (std::int64_t j = 0; j < hops; ++j)
        chain.push_back(fmt::format("VAR {} = VAR {} ", t.names[std::size_t(j + 1)], t.names[std::size_t(j)]));

    std::vector<std::string> lines(static_cast<std::size_t>(size), std::string(noise_sentence));
    std::vector<std::int64_t> positions = sample_indices(r, size, std::int64_t(chain.size()));
    std::sort(positions.begin(), positions.end());
    for (std::size_t j = 0; j < chain.size(); ++j) lines.insert(lines.begin() + positions[j] + std::int64_t(j), chain[j]);
    for (std::size_t i = 0; i < lines.size(); ++i) t.context += (i ? "\n" : "") + lines[i];
    t.context = replace_all(t.context, ". \n", ".\n");

    std::string prompt = replace_all(std::string(vt_template), "{query}", value);
    prompt = replace_all(prompt, "{num_v}", std::to_string(hops + 1));
    t.prompt = replace_all(prompt, "{context}", t.context);
    return t;
}

// The in-context example with its answers: "<prompt> N1 N2 N3 N4 N5\n".
std::string example_text(std::int64_t size, rng& r) {
    const vt_text t = make_text(size, 3, r);
    std::string out = t.prompt;
    for (const std::string& name : t.names) out += " " + name;
    return out + "\n";
}

}  // namespace

ruler_generator vt_generator(const tokenizer& tok, std::int64_t example_tokens) {
    // The example's noise count: the largest whose prompt fits example_tokens (variable_tracking.py
    // sizes it once, max_seq_length 500 and tokens_to_generate 0), drawn from a fixed seed.
    constexpr std::uint64_t example_seed = 0x5eed;
    const auto fits = [&](std::int64_t size) {
        rng r(example_seed);
        return ruler_prompt_tokens(tok, make_text(size, 3, r).prompt) <= example_tokens;
    };
    const std::int64_t example_size = fits(hops + 1) ? largest_fitting_size(fits, hops + 1, max_tokens, 4 * (hops + 1))
                                                     : hops + 1;
    ruler_generator g;
    g.min_size = hops + 1;
    g.make = [example_size](std::int64_t size, std::uint64_t seed) {
        rng r(seed);
        const std::string example = example_text(example_size, r);
        vt_text t = make_text(size, 5, r);
        ruler_sample s;
        s.size = size;
        s.prompt = example + "\n" + t.prompt;
        s.context = std::move(t.context);
        s.answers = std::move(t.names);
        return s;
    };
    return g;
}

}  // namespace stretch
