// Remote devices: llama.cpp's RPC backend (ggml-rpc, a module beside the CPU variants, built from
// the patched copy in cmake/ggml-rpc.cmake). A model loaded with `rpc` endpoints puts its layers on
// the rpc-servers' devices; a connection that fails later (the server died) fails the requests that
// used it with ERR_RPC_UNAVAILABLE instead of taking the process down.
#pragma once
#include <string>
#include <vector>

#include "ggml-backend.h"

namespace smolvlm::rpc {

/**
 * [blocking] The devices of each "host:port" endpoint, in order. Each endpoint is first reached by a
 * plain TCP connect bounded by `timeout_ms` (an unreachable or black-holed host fails in that time,
 * not after the OS's minutes), then registered with llama.cpp's RPC client, whose handshake checks
 * the protocol version. Throws Error(ERR_RPC_UNAVAILABLE) naming the endpoint and why; Error(ERR_INTERNAL)
 * if this build has no RPC backend.
 */
std::vector<ggml_backend_dev_t> Connect(const std::vector<std::string> &endpoints, int timeout_ms);

/** [sync] The first of `endpoints` whose connection has failed since it was made, or "". */
std::string FirstFailed(const std::vector<std::string> &endpoints);

/** [sync] Throws Error(ERR_RPC_UNAVAILABLE) if one of `endpoints` has failed (`during` says when). */
void Check(const std::vector<std::string> &endpoints, const char *during);

}  // namespace smolvlm::rpc
