// What one sequence slot's KV cache holds once its request has ended, for prompt-prefix reuse (as
// llama-server's cache_prompt): the evaluated prompt (text tokens; image chunks by cache key) and
// the generated tokens decoded after it; and how much of it a new prompt can take over. No llama.cpp
// memory calls here: the scheduler removes what is not reused (llama_memory_seq_rm).
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "llama.h"
#include "prompt.h"

namespace smolvlm {

struct SlotCache {
  /** A text token (key empty), or an image chunk (token -1) known by its cache key. */
  struct Unit {
    llama_token token = -1;
    std::string key;
    int32_t n_tokens = 1;  // KV cells
    llama_pos n_pos = 1;   // positions
  };
  /** Where a prompt's evaluation resumes after taking over a prefix of the cache. */
  struct Match {
    size_t segment = 0, offset = 0;  // the first segment (and token of it) left to evaluate
    int32_t cells = 0;               // prompt tokens reused
    llama_pos pos = 0;               // the position evaluation resumes at
  };

  std::vector<Unit> units;
  int32_t cells = 0;       // KV cells the slot holds (0: empty)
  uint64_t last_used = 0;  // when its request ended (least recently used goes first)

  /**
   * [sync] The longest common prefix of `prompt` with the cache, at most `max_cells` tokens (a
   * prompt keeps at least its last token to evaluate, for logits). Image chunks count only whole,
   * and only with a cache key (content id) equal to the one the cache holds at that place.
   */
  Match Prefix(const Prompt &prompt, int32_t max_cells) const;
  /** [sync] The cache now holds `prompt` followed by `generated`. */
  void Assign(const Prompt &prompt, const std::vector<llama_token> &generated);
  /** [sync] Holds nothing. */
  void Clear();
};

}  // namespace smolvlm
