#include "grammar.h"

#include <exception>

#include "errors.h"
#include "json-schema-to-grammar.h"
#include "log.h"

namespace smolvlm {

std::string SchemaToGrammar(const std::string &schema) {
  common_json parsed;
  try {
    parsed = common_json::parse(schema);
  } catch (const std::exception &e) {
    throw Error(code::INVALID_ARGUMENT, std::string("jsonSchema is not valid JSON: ") + e.what());
  }
  try {
    return json_schema_to_grammar(parsed, /*force_gbnf=*/true);
  } catch (const std::exception &e) {
    throw Error(code::INVALID_ARGUMENT, std::string("jsonSchema is not supported: ") + e.what());
  }
}

SamplerPtr MakeGrammar(const llama_vocab *vocab, const std::string &gbnf) {
  if (gbnf.empty()) return nullptr;
  log::ClearLastError();
  SamplerPtr grammar;
  try {
    grammar.reset(llama_sampler_init_grammar(vocab, gbnf.c_str(), "root"));
  } catch (const std::exception &e) {  // llama.cpp catches its parser's errors, but not every one
    throw Error(code::INVALID_ARGUMENT, std::string("invalid GBNF grammar: ") + e.what());
  }
  if (!grammar) {
    const std::string why = log::LastError();
    throw Error(code::INVALID_ARGUMENT, "invalid GBNF grammar" + (why.empty() ? std::string() : ": " + why));
  }
  return grammar;
}

}  // namespace smolvlm
