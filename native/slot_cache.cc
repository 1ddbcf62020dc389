#include "slot_cache.h"

namespace smolvlm {

SlotCache::Match SlotCache::Prefix(const Prompt &prompt, int32_t max_cells) const {
  Match m;
  size_t u = 0;
  for (size_t s = 0; s < prompt.segments.size(); s++) {
    const Prompt::Segment &seg = prompt.segments[s];
    m.segment = s;
    m.offset = 0;
    if (seg.media) {
      const int32_t n = static_cast<int32_t>(mtmd_input_chunk_get_n_tokens(seg.media));
      if (u >= units.size() || seg.cache_key.empty() || units[u].key != seg.cache_key || units[u].n_tokens != n ||
          m.cells + n > max_cells) {
        return m;
      }
      m.cells += n;
      m.pos += units[u].n_pos;
      u++;
      continue;
    }
    for (size_t i = 0; i < seg.tokens.size(); i++) {
      if (u >= units.size() || !units[u].key.empty() || units[u].token != seg.tokens[i] || m.cells + 1 > max_cells) {
        m.offset = i;
        return m;
      }
      m.cells++;
      m.pos++;
      u++;
    }
  }
  m.segment = prompt.segments.size();
  m.offset = 0;
  return m;
}

void SlotCache::Assign(const Prompt &prompt, const std::vector<llama_token> &generated) {
  Clear();
  for (const Prompt::Segment &seg : prompt.segments) {
    if (seg.media) {
      Unit unit;
      unit.key = seg.cache_key;
      unit.n_tokens = static_cast<int32_t>(mtmd_input_chunk_get_n_tokens(seg.media));
      unit.n_pos = mtmd_input_chunk_get_n_pos(seg.media);
      cells += unit.n_tokens;
      units.push_back(std::move(unit));
      continue;
    }
    for (llama_token t : seg.tokens) units.push_back({t, std::string(), 1, 1});
    cells += static_cast<int32_t>(seg.tokens.size());
  }
  for (llama_token t : generated) units.push_back({t, std::string(), 1, 1});
  cells += static_cast<int32_t>(generated.size());
}

void SlotCache::Clear() {
  units.clear();
  cells = 0;
}

}  // namespace smolvlm
