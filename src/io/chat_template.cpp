#include "io/chat_template.h"

#include "core/error.h"

namespace stretch {

chat_prompt apply_chat_template(const std::string& tmpl, const std::string& user, const std::string& source) {
    if (tmpl.find("<|im_start|>") != std::string::npos) {
        chat_prompt p;
        // A default system turn written literally in the template: '<|im_start|>system\n...<|im_end|>'.
        const std::string open = "<|im_start|>system\n";
        if (const auto at = tmpl.find(open); at != std::string::npos) {
            const auto end = tmpl.find("<|im_end|>", at);
            if (end != std::string::npos && tmpl.find("messages[0]['role'] != 'system'") != std::string::npos)
                p.text = tmpl.substr(at, end - at) + "<|im_end|>\n";
        }
        p.text += "<|im_start|>user\n" + user + "<|im_end|>\n<|im_start|>assistant\n";
        p.stops = {"<|im_end|>"};
        return p;
    }
    if (tmpl.find("[INST]") != std::string::npos) return {"[INST] " + user + " [/INST]", {}};
    if (tmpl.empty()) fail("--chat: {} has no tokenizer.chat_template; expected a chat model", source);
    fail("--chat: {}'s chat template is neither ChatML (<|im_start|>) nor Llama-2 ([INST]), the formats stretch knows",
         source);
}

}  // namespace stretch
