// Generated tokens to text as a client should see it: the bytes of each token appended, stop
// strings cut (OpenAI's `stop`: the text ends before the first match, which is not returned), and
// while streaming, bytes held back that might still become a stop string or that end inside a
// UTF-8 character (a byte-level BPE token may carry part of one).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "io/tokenizer.h"

namespace stretch::serve {

class text_stream {
public:
    text_stream(const tokenizer& tok, std::vector<std::string> stops);

    // Appends a token; returns the text that became safe to send.
    std::string push(std::int32_t id);
    // At the end of generation: whatever was held back.
    std::string flush();
    bool stopped() const { return stopped_; }
    // The whole text so far (after a stop: up to it) and where token i begins in it.
    const std::string& text() const { return text_; }
    const std::vector<std::size_t>& offsets() const { return offsets_; }
    // Tokens that begin before the end of the text (after a stop, those that made it).
    std::size_t tokens_kept() const;

private:
    std::size_t safe_end() const;

    const tokenizer& tok_;
    std::vector<std::string> stops_;
    std::size_t longest_stop_ = 0;
    std::string text_;
    std::vector<std::size_t> offsets_;
    std::size_t sent_ = 0;
    bool stopped_ = false;
};

// The end of the longest prefix of `s` that is whole UTF-8 characters (an incomplete character at
// the end is held back; invalid bytes elsewhere count as whole).
std::size_t complete_utf8_prefix(const std::string& s);

}  // namespace stretch::serve
