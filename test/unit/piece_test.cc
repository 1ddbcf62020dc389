// Driver for test/unit/tokens.test.mjs: Piece() (native/tokens.cc) against llama.cpp's own
// token_to_piece with a buffer far larger than any piece, for every token of a vocabulary.
// Usage: piece_test VOCAB.gguf -> `tokens=N longest=BYTES mismatches=M` (and the first mismatches).
#include <cstdio>
#include <string>

#include "llama.h"
#include "tokens.h"

int main(int argc, char **argv) {
  if (argc < 2) return 2;
  llama_log_set([](ggml_log_level, const char *, void *) {}, nullptr);
  llama_backend_init();
  llama_model_params mp = llama_model_default_params();
  mp.vocab_only = true;
  llama_model *model = llama_model_load_from_file(argv[1], mp);
  if (!model) {
    std::fprintf(stderr, "cannot load %s\n", argv[1]);
    return 3;
  }
  const llama_vocab *vocab = llama_model_get_vocab(model);
  const int32_t n = llama_vocab_n_tokens(vocab);
  static char big[1 << 16];
  size_t longest = 0, mismatches = 0;
  for (llama_token t = 0; t < n; t++) {
    const int32_t len = llama_token_to_piece(vocab, t, big, sizeof big, 0, true);
    const std::string want(big, len > 0 ? len : 0);
    const std::string got = smolvlm::Piece(vocab, t);
    if (want.size() > longest) longest = want.size();
    if (got != want && mismatches++ < 5) std::printf("token %d: %zu bytes, expected %zu\n", t, got.size(), want.size());
  }
  std::printf("tokens=%d longest=%zu mismatches=%zu\n", n, longest, mismatches);
  llama_model_free(model);
  return 0;
}
