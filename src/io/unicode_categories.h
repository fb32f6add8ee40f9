// The two Unicode properties the GPT-2-style pre-tokenizers test: a code point's general-category
// class (\p{L}, \p{N}, \p{P}, or anything else) and the White_Space property (\s). Data generated
// from the Unicode Character Database by tools/gen_unicode_categories.py into
// unicode_categories.cpp. Not a Unicode library: no normalisation, case mapping or scripts.
#pragma once

namespace stretch::unicode {

enum class category : unsigned char { other, letter, number, punctuation };

// Code points outside U+0000..U+10FFFF, and unassigned ones, are `other`.
category category_of(char32_t cp);
bool is_white_space(char32_t cp);

}  // namespace stretch::unicode
