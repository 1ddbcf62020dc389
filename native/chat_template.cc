#include "chat_template.h"

#include "errors.h"
#include "llama.h"

namespace smolvlm {

std::string ApplyChatTemplate(const std::string &tmpl, const std::vector<ChatMessage> &messages, bool add_assistant) {
  std::vector<llama_chat_message> msgs(messages.size());
  size_t total = 0;
  for (size_t i = 0; i < messages.size(); i++) {
    msgs[i] = {messages[i].role.c_str(), messages[i].content.c_str()};
    total += messages[i].role.size() + messages[i].content.size();
  }
  const char *t = tmpl.empty() ? nullptr : tmpl.c_str();
  std::string out(total * 2 + 256, '\0');
  int32_t n = llama_chat_apply_template(t, msgs.data(), msgs.size(), add_assistant, out.data(), static_cast<int32_t>(out.size()));
  if (n > static_cast<int32_t>(out.size())) {
    out.resize(n);
    n = llama_chat_apply_template(t, msgs.data(), msgs.size(), add_assistant, out.data(), n);
  }
  if (n < 0) throw Error(code::INVALID_ARGUMENT, "the model's chat template is not supported by llama.cpp; use raw prompts");
  out.resize(n);
  return out;
}

}  // namespace smolvlm
