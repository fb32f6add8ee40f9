#include "generate/generator.h"

#include <algorithm>
#include <optional>

#include "core/error.h"

namespace stretch {

std::vector<float> feed(const transformer& model, const layer_positions& setup, kv_cache& cache,
                        std::span<const std::int32_t> tokens, std::int64_t chunk) {
    STRETCH_ASSERT(!tokens.empty() && chunk > 0);
    std::vector<float> last;
    for (std::size_t at = 0; at < tokens.size(); at += std::size_t(chunk)) {
        const auto piece = tokens.subspan(at, std::min(tokens.size() - at, std::size_t(chunk)));
        ag::context inference;
        const bool final_piece = at + piece.size() == tokens.size();  // only its last row is wanted
        const tensor logits =
            model.forward(inference, piece, 1, std::int64_t(piece.size()), setup, &cache, final_piece)->value;
        if (!final_piece) continue;
        const tensor as_f32 = logits.type() == dtype::f32 ? logits : logits.to(dtype::f32);
        last.assign(as_f32.data<float>(), as_f32.data<float>() + as_f32.dim(1));
    }
    return last;
}

std::vector<std::int32_t> generate(const transformer& model, const variants::position_spec& positions,
                                   const generation_request& request,
                                   const std::function<void(std::int32_t)>& on_token) {
    if (request.prompt.empty()) fail("generate: the prompt has no tokens; expected at least one (e.g. BOS)");
    if (request.n_predict < 0) fail("-n: found {}, expected a number of tokens >= 0", request.n_predict);
    const bool guided = request.cfg_scale != 1.0;
    if (guided && request.negative.empty())
        fail("--cfg-scale {}: the guidance context has no tokens; expected a negative prompt or BOS", request.cfg_scale);
    const std::int64_t total = std::int64_t(request.prompt.size()) + request.n_predict;
    const layer_positions setup = model.positions(positions, total, "--pos");
    kv_cache cache(model.config(), total, model.type(), request.cache_types);
    std::vector<float> logits = feed(model, setup, cache, request.prompt, request.prefill_chunk);
    std::unique_ptr<kv_cache> guidance_cache;
    std::vector<float> guidance;
    if (guided) {
        guidance_cache = std::make_unique<kv_cache>(model.config(), std::int64_t(request.negative.size()) + request.n_predict,
                                                    model.type(), request.cache_types);
        guidance = feed(model, setup, *guidance_cache, request.negative, request.prefill_chunk);
    }
    std::optional<classifier_guide> classifier;
    if (request.guide.classifier)
        classifier.emplace(request.guide, request.prompt, total, request.guide.classifier->can_cache());
    sampler pick(request.sampling);
    std::vector<std::int32_t> history = request.prompt, out;
    for (std::int64_t step = 0; step < request.n_predict; ++step) {
        const std::vector<float> next = guided ? apply_guidance(logits, guidance, request.cfg_scale) : std::move(logits);
        std::int32_t token = 0;
        if (classifier) {
            candidate_list candidates = pick.candidates(next, history);
            classifier->reweight(candidates);
            token = pick.draw(candidates);
            classifier->advance(token);
        } else {
            token = pick.sample(next, history);
        }
        out.push_back(token);
        history.push_back(token);
        if (on_token) on_token(token);
        if (std::find(request.stop.begin(), request.stop.end(), token) != request.stop.end()) break;
        if (step + 1 == request.n_predict) break;
        logits = feed(model, setup, cache, std::span(&token, 1), 1);
        if (guided) guidance = feed(model, setup, *guidance_cache, std::span(&token, 1), 1);
    }
    return out;
}

}  // namespace stretch
