#include "tokens.h"

namespace smolvlm {

std::vector<llama_token> Tokenize(const llama_vocab *vocab, const std::string &text, bool add_special, bool parse_special) {
  const int32_t len = static_cast<int32_t>(text.size());
  const int32_t n = -llama_tokenize(vocab, text.data(), len, nullptr, 0, add_special, parse_special);
  std::vector<llama_token> tokens(n > 0 ? n : 0);
  if (n > 0) llama_tokenize(vocab, text.data(), len, tokens.data(), n, add_special, parse_special);
  return tokens;
}

std::string Detokenize(const llama_vocab *vocab, const std::vector<llama_token> &tokens, bool special) {
  const int32_t count = static_cast<int32_t>(tokens.size());
  std::string out(tokens.size() * 8 + 16, '\0');
  int32_t n = llama_detokenize(vocab, tokens.data(), count, out.data(), static_cast<int32_t>(out.size()), false, special);
  if (n < 0) {
    out.resize(-n);
    n = llama_detokenize(vocab, tokens.data(), count, out.data(), static_cast<int32_t>(out.size()), false, special);
  }
  out.resize(n > 0 ? n : 0);
  return out;
}

std::string Piece(const llama_vocab *vocab, llama_token t) {
  char buf[256];  // nearly every piece fits: one call, no allocation beyond the result
  int32_t n = llama_token_to_piece(vocab, t, buf, sizeof buf, 0, true);
  if (n >= 0) return std::string(buf, n);
  std::string big(-n, '\0');
  n = llama_token_to_piece(vocab, t, big.data(), static_cast<int32_t>(big.size()), 0, true);
  big.resize(n > 0 ? n : 0);
  return big;
}

}  // namespace smolvlm
