// `learned_sinks` — learned attention sinks, as trained in OpenAI's gpt-oss (arXiv 2508.10925, the
// gpt-oss model card: "each attention head has a learned bias in the denominator of the softmax"):
// every layer trains one logit s_h per query head that joins the softmax's denominator and carries
// no value,
//   p_ij = exp(S_ij - m) / (exp(s_h - m) + sum_j exp(S_ij - m)),   o_i = sum_j p_ij v_j,
// so a head can put weight on "nothing" instead of piling it on the first tokens, the attention
// sink StreamingLLM observed (arXiv 2309.17453; "When Attention Sink Emerges", arXiv 2410.10781,
// ties that sink to the softmax's sum-to-one normalisation). s_h is not scaled by 1/sqrt(d) nor by a
// per-query temperature, as in HF transformers' GptOss eager attention (the sinks concatenated to
// the scaled logits). The logits are model parameters blk.N.attn_sinks.weight [H] (llama.cpp's
// name, f32 in gpt-oss GGUF files), trained by AdamW without weight decay, saved and resumed with
// the others; the `sinks` modifier (StreamingLLM's kept first tokens) is a different method.
// Softmax Transformer blocks only (not relu^2, not GAU). Default initial logit 0 (our choice: HF's
// GptOss draws N(0, 0.02), i.e. about 0; exp(0) = one extra zero-score key at the start).
// Source: arXiv 2508.10925; HF transformers models/gpt_oss (eager_attention_forward, _init_weights);
// llama.cpp LLM_TENSOR_ATTN_SINKS ("blk.%d.attn_sinks").
#include "variants/variant.h"

namespace stretch::variants {
namespace {

const registrar reg{variant_def{
    .name = "learned_sinks",
    .kind = variant_kind::modifier,
    .summary = "a learned logit per head and layer added to the softmax's denominator (gpt-oss; needs training)",
    .source = "arXiv 2508.10925 (gpt-oss); llama.cpp blk.N.attn_sinks",
    .params = {{.name = "init", .type = param_type::real, .default_value = "0",
                .help = "the sink logits' initial value s_h (training from scratch)", .min = -30.0, .max = 30.0}},
    .learned_sink_init = [](const param_values& p) { return p.real("init"); },
    .needs_training = true,
}};

}  // namespace
}  // namespace stretch::variants
