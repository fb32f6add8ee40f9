#include "train/checkpoint.h"

#include <cstring>

#include "core/error.h"
#include "io/json_text.h"

namespace stretch {

void save_checkpoint(const std::string& path, const std::function<void(gguf::writer&)>& describe, adamw& optimizer,
                     const training_state& state) {
    gguf::writer out;
    describe(out);
    out.set_u64("stretch.train.step", static_cast<std::uint64_t>(state.step));
    out.set_string("stretch.train.sampler_state", state.sampler_state);
    out.set_string("stretch.train.data_fingerprint", state.data_fingerprint);
    out.set_u64("stretch.train.ranks", static_cast<std::uint64_t>(state.ranks));
    const auto& params = optimizer.parameters();
    for (const auto& [name, p] : params) out.add_tensor(name, p->value);
    for (std::size_t i = 0; i < params.size(); ++i) {
        out.add_tensor("optim.m." + params[i].first, optimizer.first_moments()[i]);
        out.add_tensor("optim.v." + params[i].first, optimizer.second_moments()[i]);
    }
    out.write(path);
}

run_config read_checkpoint_config(const std::string& path) {
    auto in = gguf::reader::open(path);
    run_config config;
    nlohmann::json object;
    try {
        object = nlohmann::json::parse(in.get_string("stretch.config"));
    } catch (const nlohmann::json::parse_error&) {
        fail("{}: stretch.config is not valid JSON, expected the run config", path);
    }
    apply_json(config, object, path + " (stretch.config)");
    return config;
}

training_state load_checkpoint(const std::string& path, adamw& optimizer) {
    auto in = gguf::reader::open(path);
    const auto& params = optimizer.parameters();
    for (const auto& [name, p] : params) {
        tensor t = in.read_f32(name, p->value.shape());  // names the missing tensor or wrong shape
        std::memcpy(p->value.raw(), t.raw(), t.bytes());
    }
    for (std::size_t i = 0; i < params.size(); ++i) {
        for (auto* moments : {&optimizer.first_moments(), &optimizer.second_moments()}) {
            tensor& dst = (*moments)[i];
            const std::string name = (moments == &optimizer.first_moments() ? "optim.m." : "optim.v.") + params[i].first;
            tensor t = in.read_f32(name, dst.shape());
            std::memcpy(dst.raw(), t.raw(), t.bytes());
        }
    }
    training_state state;
    state.step = static_cast<std::int64_t>(in.get_u64("stretch.train.step"));
    state.sampler_state = in.get_string("stretch.train.sampler_state");
    state.data_fingerprint = in.get_string("stretch.train.data_fingerprint");
    state.ranks = static_cast<std::int64_t>(in.get_u64_or("stretch.train.ranks", 1));
    return state;
}

}  // namespace stretch
