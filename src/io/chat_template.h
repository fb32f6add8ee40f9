// Chat formatting for `stretch generate --chat` and `stretch serve`'s chat completions. GGUF files
// carry a Jinja template (tokenizer.chat_template); stretch does not run Jinja. It recognises the
// ChatML family (the template writes '<|im_start|>' + role + '\n' + content + '<|im_end|>') and
// the Llama-2 [INST] format, and formats a conversation the way the template would, including a
// default system message the template inserts when the conversation has none (SmolLM2's does),
// ending where the assistant speaks next. Anything else is an error naming what was found.
#pragma once

#include <string>
#include <vector>

namespace stretch {

struct chat_prompt {
    std::string text;                // the formatted conversation, ending where the assistant speaks
    std::vector<std::string> stops;  // token texts that end the assistant's turn (besides EOS)
};

struct chat_turn {
    std::string role;  // system, user or assistant ("developer" counts as system)
    std::string content;
};

chat_prompt apply_chat_template(const std::string& chat_template, const std::vector<chat_turn>& conversation,
                                const std::string& source);
// One user turn.
chat_prompt apply_chat_template(const std::string& chat_template, const std::string& user_message,
                                const std::string& source);

}  // namespace stretch
