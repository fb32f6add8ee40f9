// The byte-level "tokenizer" of stretch-trained models: token id = byte value (vocabulary 256, no
// BOS or EOS), behind the same interface as the pretrained models' tokenizers (io/tokenizer.h).
#pragma once

#include <memory>
#include <string>

#include "io/tokenizer.h"

namespace stretch {

std::unique_ptr<tokenizer> make_byte_tokenizer(const std::string& source);

}  // namespace stretch
