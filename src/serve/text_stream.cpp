#include "serve/text_stream.h"

#include <algorithm>

namespace stretch::serve {

std::size_t complete_utf8_prefix(const std::string& s) {
    // Look back over at most 3 bytes for a lead byte whose character is not finished.
    for (std::size_t back = 1; back <= std::min<std::size_t>(3, s.size()); ++back) {
        const auto b = static_cast<unsigned char>(s[s.size() - back]);
        if ((b & 0xC0) == 0x80) continue;  // a continuation byte: keep looking for its lead
        const std::size_t need = b >= 0xF0 ? 4 : b >= 0xE0 ? 3 : b >= 0xC0 ? 2 : 1;
        return need > back ? s.size() - back : s.size();
    }
    return s.size();
}

text_stream::text_stream(const tokenizer& tok, std::vector<std::string> stops) : tok_(tok), stops_(std::move(stops)) {
    for (const std::string& s : stops_) longest_stop_ = std::max(longest_stop_, s.size());
}

std::string text_stream::push(std::int32_t id) {
    if (stopped_) return {};
    offsets_.push_back(text_.size());
    text_ += tok_.token_bytes(id);
    // A stop string can only end in the new bytes: search from where it could begin.
    const std::size_t from = offsets_.back() >= longest_stop_ ? offsets_.back() - longest_stop_ + 1 : 0;
    std::size_t cut = std::string::npos;
    for (const std::string& s : stops_) cut = std::min(cut, text_.find(s, from));
    if (cut != std::string::npos) {
        text_.resize(cut);
        stopped_ = true;
        std::string out = sent_ < text_.size() ? text_.substr(sent_) : std::string();
        sent_ = text_.size();
        return out;
    }
    const std::size_t end = safe_end();
    std::string out = end > sent_ ? text_.substr(sent_, end - sent_) : std::string();
    sent_ = std::max(sent_, end);
    return out;
}

std::string text_stream::flush() {
    std::string out = sent_ < text_.size() ? text_.substr(sent_) : std::string();
    sent_ = text_.size();
    return out;
}

std::size_t text_stream::tokens_kept() const {
    if (!stopped_) return offsets_.size();
    return std::size_t(std::count_if(offsets_.begin(), offsets_.end(), [&](std::size_t o) { return o < text_.size(); }));
}

std::size_t text_stream::safe_end() const {
    // Hold back the longest tail that is a proper prefix of a stop string.
    std::size_t held = 0;
    for (const std::string& s : stops_)
        for (std::size_t n = std::min(s.size() - 1, text_.size()); n > held; --n)
            if (text_.compare(text_.size() - n, n, s, 0, n) == 0) {
                held = n;
                break;
            }
    return std::min(text_.size() - held, complete_utf8_prefix(text_));
}

}  // namespace stretch::serve
