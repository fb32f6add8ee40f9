#include "io/chat_template.h"

#include "core/error.h"

namespace stretch {

namespace {

bool is_system(const chat_turn& t) { return t.role == "system" || t.role == "developer"; }

// ChatML: '<|im_start|>' role '\n' content '<|im_end|>' '\n' per turn, then the assistant's opening.
chat_prompt chatml(const std::string& tmpl, const std::vector<chat_turn>& turns) {
    chat_prompt p;
    // A default system turn written literally in the template: '<|im_start|>system\n...<|im_end|>'.
    const std::string open = "<|im_start|>system\n";
    if (const auto at = tmpl.find(open); at != std::string::npos && (turns.empty() || !is_system(turns.front()))) {
        const auto end = tmpl.find("<|im_end|>", at);
        if (end != std::string::npos && tmpl.find("messages[0]['role'] != 'system'") != std::string::npos)
            p.text = tmpl.substr(at, end - at) + "<|im_end|>\n";
    }
    for (const chat_turn& t : turns)
        p.text += "<|im_start|>" + (is_system(t) ? std::string("system") : t.role) + "\n" + t.content + "<|im_end|>\n";
    p.text += "<|im_start|>assistant\n";
    p.stops = {"<|im_end|>"};
    return p;
}

// Llama 2: '[INST] ' (system in <<SYS>> ... <</SYS>> before the first user turn) user ' [/INST]',
// each answer followed by ' </s><s>' before the next instruction (llama.cpp's llama2 template).
chat_prompt llama2(const std::vector<chat_turn>& turns) {
    std::string text, system;
    bool first = true;
    for (const chat_turn& t : turns) {
        if (is_system(t)) system += t.content;
        else if (t.role == "user") {
            text += (first ? "[INST] " : "<s>[INST] ") +
                    (system.empty() ? std::string() : "<<SYS>>\n" + system + "\n<</SYS>>\n\n") + t.content + " [/INST]";
            system.clear();
            first = false;
        } else text += " " + t.content + " </s>";
    }
    return {text, {}};
}

}  // namespace

chat_prompt apply_chat_template(const std::string& tmpl, const std::vector<chat_turn>& conversation,
                                const std::string& source) {
    if (tmpl.find("<|im_start|>") != std::string::npos) return chatml(tmpl, conversation);
    if (tmpl.find("[INST]") != std::string::npos) return llama2(conversation);
    if (tmpl.empty()) fail("--chat: {} has no tokenizer.chat_template; expected a chat model", source);
    fail("--chat: {}'s chat template is neither ChatML (<|im_start|>) nor Llama-2 ([INST]), the formats stretch knows",
         source);
}

chat_prompt apply_chat_template(const std::string& tmpl, const std::string& user, const std::string& source) {
    return apply_chat_template(tmpl, std::vector<chat_turn>{{"user", user}}, source);
}

}  // namespace stretch
