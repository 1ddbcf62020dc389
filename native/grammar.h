// Structured output: a JSON schema -> GBNF (llama.cpp's own converter, common/json-schema-to-grammar
// .cpp, compiled into the addon), and GBNF -> a grammar sampler, checked. No Napi here.
#pragma once
#include <string>

#include "llama.h"
#include "sampler.h"

namespace smolvlm {

/**
 * [sync] The GBNF of the JSON schema `schema` (JSON text), root rule `root`. Throws
 * Error(INVALID_ARGUMENT) naming the problem: text that is not JSON, or what the converter
 * cannot express (unsupported keywords, unresolvable $ref, ...).
 */
std::string SchemaToGrammar(const std::string &schema);

/**
 * [sync] The grammar sampler of `gbnf` (start symbol `root`), or null for an empty grammar.
 * Throws Error(INVALID_ARGUMENT) with llama.cpp's reason when the grammar does not parse, has
 * no `root` rule or is left-recursive (llama.cpp logs those and returns null).
 */
SamplerPtr MakeGrammar(const llama_vocab *vocab, const std::string &gbnf);

/**
 * A grammar compiled off the JS thread (Model.compileGrammar) for one request of the model whose
 * vocabulary it was built on; Engine.generate takes the sampler out (single use).
 */
struct CompiledGrammar {
  const llama_vocab *vocab = nullptr;
  SamplerPtr sampler;
};

}  // namespace smolvlm
