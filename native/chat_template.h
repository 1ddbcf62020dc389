// Chat messages -> one prompt through llama.cpp's built-in chat templates (microseconds: the one
// llama.cpp call the JS thread makes).
#pragma once
#include <string>
#include <vector>

namespace smolvlm {

struct ChatMessage {
  std::string role, content;
};

/**
 * [sync] Renders `messages` with `tmpl` (empty: llama.cpp's default), ending with the assistant's
 * turn when `add_assistant`. Throws Error ERR_INVALID_ARGUMENT when llama.cpp does not know the template.
 */
std::string ApplyChatTemplate(const std::string &tmpl, const std::vector<ChatMessage> &messages, bool add_assistant);

}  // namespace smolvlm
