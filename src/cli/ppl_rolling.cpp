#include "cli/ppl_rolling.h"

#include <cstdio>

#include <nlohmann/json.hpp>

#include "eval/rolling_loglikelihood.h"
#include "io/atomic_file.h"
#include "io/corpus.h"

namespace stretch::cli {

void run_rolling_ppl(const loaded_model& m, const std::string& text_path, std::int64_t max_length,
                     const variants::position_spec& positions, const kv_cache_types& cache_types,
                     const std::string& json_path) {
    const std::string text = read_text_file(text_path);
    const tokenizer& tok = *m.tok;
    const std::int32_t prefix = tok.bos() > 0 ? tok.bos() : tok.eos();  // lm-eval: `bos_token_id or eos_token_id`
    const rolling_result r =
        rolling_loglikelihood(*m.model, positions, tok.encode(text, false), text, prefix, max_length, cache_types);
    std::printf("rolling (lm-eval loglikelihood_rolling, max_length %lld): %lld requests, %lld tokens scored, "
                "loglikelihood %.6f\n"
                "word_perplexity %.6f  byte_perplexity %.6f  bits_per_byte %.6f  (%lld words, %lld bytes); "
                "token PPL = %.4f\n",
                (long long)max_length, (long long)r.requests, (long long)r.tokens, r.loglikelihood, r.word_perplexity,
                r.byte_perplexity, r.bits_per_byte, (long long)r.words, (long long)r.bytes, r.token_perplexity);
    if (json_path.empty()) return;
    const nlohmann::json report = {
        {"model", m.path}, {"text", text_path}, {"pos", positions.text()},
        {"results",
         {{{"length", max_length}, {"mode", "rolling"}, {"loglikelihood", r.loglikelihood}, {"tokens", r.tokens},
           {"requests", r.requests}, {"words", r.words}, {"bytes", r.bytes}, {"word_perplexity", r.word_perplexity},
           {"byte_perplexity", r.byte_perplexity}, {"bits_per_byte", r.bits_per_byte},
           {"ppl", r.token_perplexity}}}}};
    write_text_atomic(json_path, report.dump(2) + "\n");
}

}  // namespace stretch::cli
