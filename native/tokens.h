// Text <-> tokens through the model's vocabulary: the one place that calls llama.cpp's
// size-negotiating tokenizer functions (each returns -needed when the buffer is too small).
#pragma once
#include <string>
#include <vector>

#include "llama.h"

namespace smolvlm {

/** [blocking: long texts take milliseconds] `text` as token ids. */
std::vector<llama_token> Tokenize(const llama_vocab *vocab, const std::string &text, bool add_special, bool parse_special);
/** [blocking] The text of `tokens` (special tokens rendered when `special`). */
std::string Detokenize(const llama_vocab *vocab, const std::vector<llama_token> &tokens, bool special);
/** [sync] The bytes of one token (special tokens rendered), whole however long. */
std::string Piece(const llama_vocab *vocab, llama_token t);

}  // namespace smolvlm
