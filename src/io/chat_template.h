// Chat formatting for `stretch generate --chat`. GGUF files carry a Jinja template
// (tokenizer.chat_template); stretch does not run Jinja. It recognises the ChatML family (the
// template writes '<|im_start|>' + role + '\n' + content + '<|im_end|>') and the Llama-2 [INST]
// format, and formats one user turn the way the template would, including a default system message
// the template inserts when the conversation has none (SmolLM2's does). Anything else is an error
// naming what was found.
#pragma once

#include <string>
#include <vector>

namespace stretch {

struct chat_prompt {
    std::string text;                // the formatted conversation, ending where the assistant speaks
    std::vector<std::string> stops;  // token texts that end the assistant's turn (besides EOS)
};

chat_prompt apply_chat_template(const std::string& chat_template, const std::string& user_message,
                                const std::string& source);

}  // namespace stretch
