// llama2.c legacy checkpoint reader; see llama2c.h. The layout follows run.c's memory_map_weights
// in karpathy/llama2.c, which is also where the freq_cis tables are skipped.
#include "io/llama2c.h"

#include <array>
#include <bit>
#include <cstring>
#include <limits>

#include <fmt/format.h>

#include "core/error.h"
#include "io/input_file.h"

namespace stretch {

namespace {

static_assert(std::endian::native == std::endian::little,
              "llama2.c checkpoints are little-endian; a big-endian host needs byte swapping");

constexpr std::int64_t header_bytes = 7 * sizeof(std::int32_t);

// One kind of array in the file: `count` consecutive tensors of one shape (count = n_layers for the
// per-layer weights, which the file stores kind by kind: every layer's rms_att, then every wq, ...).
// `name` holds {} for the layer index; `skip` marks the legacy freq_cis tables nothing reads.
struct section {
    std::string name;
    shape_t shape;
    std::int64_t count = 1;
    bool skip = false;
    std::int64_t tensor_bytes() const { return 4 * shape_numel(shape); }
    std::string tensor_name(std::int64_t i) const {
        return name.find("{}") == std::string::npos ? name : fmt::format(fmt::runtime(name), i);
    }
};

std::vector<section> layout(const llama2c_checkpoint& c) {
    const std::int64_t dim = c.dim, hidden = c.hidden_dim, vocab = c.vocab_size, layers = c.n_layers;
    const std::int64_t kv_dim = dim / c.n_heads * c.n_kv_heads, half_head = dim / c.n_heads / 2;
    std::vector<section> sections{
        {"token_embd.weight", {vocab, dim}},
        {"blk.{}.attn_norm.weight", {dim}, layers},        // rms_att
        {"blk.{}.attn_q.weight", {dim, dim}, layers},      // wq
        {"blk.{}.attn_k.weight", {kv_dim, dim}, layers},   // wk
        {"blk.{}.attn_v.weight", {kv_dim, dim}, layers},   // wv
        {"blk.{}.attn_output.weight", {dim, dim}, layers}, // wo
        {"blk.{}.ffn_norm.weight", {dim}, layers},         // rms_ffn
        {"blk.{}.ffn_gate.weight", {hidden, dim}, layers}, // w1
        {"blk.{}.ffn_down.weight", {dim, hidden}, layers}, // w2
        {"blk.{}.ffn_up.weight", {hidden, dim}, layers},   // w3
        {"output_norm.weight", {dim}},                     // rms_final
        {"freq_cis_real", {c.seq_len, half_head}, 1, true},
        {"freq_cis_imag", {c.seq_len, half_head}, 1, true},
    };
    if (!c.shared_classifier) sections.push_back({"output.weight", {vocab, dim}});  // wcls
    return sections;
}

std::string header_text(const llama2c_checkpoint& c) {
    return fmt::format("dim {}, hidden_dim {}, n_layers {}, n_heads {}, n_kv_heads {}, vocab_size {} ({}), seq_len {}",
                       c.dim, c.hidden_dim, c.n_layers, c.n_heads, c.n_kv_heads, c.vocab_size,
                       c.shared_classifier ? "shared classifier" : "separate classifier", c.seq_len);
}

void check_header(const std::string& path, const std::array<std::int32_t, 7>& h) {
    static constexpr std::array<const char*, 7> names = {"dim", "hidden_dim", "n_layers", "n_heads",
                                                         "n_kv_heads", "vocab_size", "seq_len"};
    for (std::size_t i = 0; i < h.size(); ++i) {
        if (i == 5) continue;
        if (h[i] <= 0) fail("{}: header field {} is {}, expected a positive value", path, names[i], h[i]);
    }
    // vocab_size carries the classifier flag in its sign (negative: separate), so only its
    // magnitude must be positive (and representable).
    if (h[5] == 0 || h[5] == std::numeric_limits<std::int32_t>::min())
        fail("{}: header field vocab_size is {}, expected a nonzero value whose sign marks a separate classifier", path, h[5]);
    const auto dim = h[0], n_heads = h[3], n_kv_heads = h[4];
    if (dim % n_heads != 0) fail("{}: header field n_heads is {}, expected a divisor of dim {}", path, n_heads, dim);
    if (n_heads % n_kv_heads != 0)
        fail("{}: header field n_kv_heads is {}, expected a divisor of n_heads {}", path, n_kv_heads, n_heads);
    if ((dim / n_heads) % 2 != 0)
        fail("{}: header fields dim {} and n_heads {} give head size {}, expected an even head size (RoPE rotates pairs)",
             path, dim, n_heads, dim / n_heads);
}

}  // namespace

llama2c_checkpoint read_llama2c(const std::string& path) {
    const input_file in(path);
    const auto size = static_cast<std::int64_t>(in.size());
    if (size < header_bytes)
        fail("{}: file is {} bytes, expected at least the {}-byte llama2.c header", path, size, header_bytes);

    std::array<std::int32_t, 7> h{};
    in.read_at(h.data(), header_bytes, 0);
    check_header(path, h);
    llama2c_checkpoint c{h[0], h[1], h[2], h[3], h[4], h[5] < 0 ? -h[5] : h[5], h[6], h[5] > 0, {}};

    // The sizes are products of up to four int32s and could overflow int64; a header implying more
    // than 2^62 bytes is rejected first, in double, after which the int64 sums below are exact.
    // Nothing is allocated until the file is known to hold every array.
    const auto sections = layout(c);
    double approx = double(header_bytes);
    for (const auto& s : sections) approx += double(s.count) * 4.0 * double(shape_numel(s.shape));
    if (approx > 0x1p62)
        fail("{}: header ({}) implies a file of {:.3g} bytes, expected at most 2^62", path, header_text(c), approx);
    std::int64_t expected = header_bytes;
    std::string cut;  // the array the file ends inside, when it is short
    for (const auto& s : sections) {
        const std::int64_t end = expected + s.count * s.tensor_bytes();
        if (cut.empty() && size < end) cut = s.tensor_name((size - expected) / s.tensor_bytes());
        expected = end;
    }
    if (size != expected) {
        const std::string where = !cut.empty() ? fmt::format("it ends inside {}", cut)
                                               : fmt::format("{} bytes follow the last array", size - expected);
        fail("{}: file is {} bytes, expected {} from the header ({}); {}", path, size, expected, header_text(c), where);
    }

    std::int64_t offset = header_bytes;
    for (const auto& s : sections) {
        for (std::int64_t i = 0; i < s.count && !s.skip; ++i) {
            tensor t(s.shape, dtype::f32);
            in.read_at(t.raw(), std::size_t(s.tensor_bytes()), std::uint64_t(offset + i * s.tensor_bytes()));
            c.tensors.emplace_back(s.tensor_name(i), std::move(t));
        }
        offset += s.count * s.tensor_bytes();
    }
    return c;
}

}  // namespace stretch
