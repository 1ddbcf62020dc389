# llama.cpp's RPC backend (GGML_RPC) as smolvlm-node builds it: the libggml-rpc module beside the
# CPU variants, compiled from a copy of ggml-rpc.cpp in which a lost or refused server fails its
# connection instead of aborting the process.
#
# Why a patched copy: the pinned ggml-rpc.cpp calls GGML_ABORT (abort(), no way back) when it cannot
# connect, when the handshake fails, and when a server dies mid-request (RPC_STATUS_ASSERT on the
# connection's dispatcher thread). A library cannot take its host process down because a remote
# machine went away. In the copy, a failed connection stays "failed": every later command on it
# completes at once with a zeroed reply (so the device count is 0, allocations return no buffer,
# computations do nothing), the error is logged, and `smolvlm_rpc_endpoint_failed(endpoint)`
# (through the reg's proc address) tells native/rpc.cc which requests to fail with a typed error.
# Each replacement must match, so a llama.cpp update that changes these lines stops the configure
# rather than silently building the aborting original.

set(_rpc_dir "${SMOLVLM_LLAMA_CPP_DIR}/ggml/src/ggml-rpc")
file(READ "${_rpc_dir}/ggml-rpc.cpp" _rpc_src)

function(_rpc_replace what with)
  string(FIND "${_rpc_src}" "${what}" _at)
  if (_at EQUAL -1)
    message(FATAL_ERROR "cmake/ggml-rpc.cmake: this llama.cpp's ggml-rpc.cpp no longer has the text it patches:\n${what}")
  endif()
  string(REPLACE "${what}" "${with}" _out "${_rpc_src}")
  set(_rpc_src "${_out}" PARENT_SCOPE)
endfunction()

# 1. the handshake reports a dead connection instead of asserting
_rpc_replace([[
    bool status = send_rpc_cmd(sock, RPC_CMD_HELLO, &request, sizeof(request), &response, sizeof(response));
    RPC_STATUS_ASSERT(status);
]] [[
    bool status = send_rpc_cmd(sock, RPC_CMD_HELLO, &request, sizeof(request), &response, sizeof(response));
    if (!status) {
        return false;
    }
]])

# 2. the dispatcher remembers that its connection failed
_rpc_replace([[
    std::atomic_bool running;
    std::thread      thread;
};
]] [[
    std::atomic_bool running;
    std::atomic_bool failed{false};
    std::string      endpoint_;
    std::thread      thread;
    void fail(const char * why);
};

// smolvlm-node: the endpoints whose live connection has failed (cmake/ggml-rpc.cmake)
static std::mutex                      smolvlm_failed_mutex;
static std::unordered_set<std::string> smolvlm_failed_endpoints;

extern "C" bool smolvlm_rpc_endpoint_failed(const char * endpoint) {
    std::lock_guard<std::mutex> lock(smolvlm_failed_mutex);
    return smolvlm_failed_endpoints.count(endpoint) > 0;
}

void rpc_dispatcher::fail(const char * why) {
    if (!failed.exchange(true)) {
        GGML_LOG_ERROR("RPC[%s]: %s\n", endpoint_.c_str(), why);
        std::lock_guard<std::mutex> lock(smolvlm_failed_mutex);
        smolvlm_failed_endpoints.insert(endpoint_);
    }
}
]])

# 3. connecting fails the dispatcher (it still runs, answering every command with zeroes)
_rpc_replace([[
    if (!parse_endpoint(endpoint, host, port)) {
        GGML_ABORT("Failed to parse endpoint: %s\n", endpoint.c_str());
    }
    if (!rpc_transport_init()) {
        GGML_ABORT("RPC transport initialization failed\n");
    }

    sock = socket_t::connect(host.c_str(), port);
    if (sock == nullptr) {
        GGML_ABORT("Failed to connect to %s\n", endpoint.c_str());
    }
    if (!negotiate_hello(sock)) {
        GGML_ABORT("RPC handshake failed for %s\n", endpoint.c_str());
    }
    LOG_DBG("[%s] connected to %s\n", __func__, endpoint.c_str());
]] [[
    endpoint_ = endpoint;
    if (!parse_endpoint(endpoint, host, port)) {
        fail("cannot parse the endpoint");
    } else if (!rpc_transport_init()) {
        fail("transport initialization failed");
    } else if ((sock = socket_t::connect(host.c_str(), port)) == nullptr) {
        fail("cannot connect");
    } else if (!negotiate_hello(sock)) {
        sock = nullptr;
        fail("handshake failed (not an rpc-server of this protocol version?)");
    } else {
        std::lock_guard<std::mutex> lock(smolvlm_failed_mutex);
        smolvlm_failed_endpoints.erase(endpoint);
    }
    LOG_DBG("[%s] connected to %s\n", __func__, endpoint.c_str());
]])

# 4. a command that fails (the server died) fails the connection; nothing is sent after that
_rpc_replace([[
        if (msg_ptr->cmd != RPC_CMD_NONE) {
            if (msg_ptr->output) {
                bool status = send_rpc_cmd(sock, msg_ptr->cmd, msg_ptr->input.get(), msg_ptr->input_size, msg_ptr->output, msg_ptr->output_size);
                RPC_STATUS_ASSERT(status);
            } else {
                bool status = send_rpc_cmd(sock, msg_ptr->cmd, msg_ptr->input.get(), msg_ptr->input_size);
                RPC_STATUS_ASSERT(status);
            }
        }
]] [[
        if (msg_ptr->cmd != RPC_CMD_NONE && !failed) {
            bool status = msg_ptr->output
                ? send_rpc_cmd(sock, msg_ptr->cmd, msg_ptr->input.get(), msg_ptr->input_size, msg_ptr->output, msg_ptr->output_size)
                : send_rpc_cmd(sock, msg_ptr->cmd, msg_ptr->input.get(), msg_ptr->input_size);
            if (!status) {
                fail("the server closed the connection or sent a malformed reply");
            }
        }
        if (failed && msg_ptr->output) {
            memset(msg_ptr->output, 0, msg_ptr->output_size);
        }
]])

# 5. an alignment of 0 (from a failed connection) would divide by zero in ggml-alloc
_rpc_replace([[
    dispatcher->send(RPC_CMD_GET_ALIGNMENT, request, sizeof(*request), &response, sizeof(response));
    return response.alignment;
]] [[
    dispatcher->send(RPC_CMD_GET_ALIGNMENT, request, sizeof(*request), &response, sizeof(response));
    return response.alignment ? response.alignment : 1;
]])

# 6. the query, through the reg
_rpc_replace([[
    if (std::strcmp(name, "ggml_backend_rpc_start_server") == 0) {
        return (void *)ggml_backend_rpc_start_server;
    }
]] [[
    if (std::strcmp(name, "ggml_backend_rpc_start_server") == 0) {
        return (void *)ggml_backend_rpc_start_server;
    }
    if (std::strcmp(name, "smolvlm_rpc_endpoint_failed") == 0) {
        return (void *)smolvlm_rpc_endpoint_failed;
    }
]])

set(_rpc_copy "${CMAKE_BINARY_DIR}/ggml-rpc-patched/ggml-rpc.cpp")
file(WRITE "${_rpc_copy}.new" "${_rpc_src}")
configure_file("${_rpc_copy}.new" "${_rpc_copy}" COPYONLY)   # rewritten only when it changes
# the module keeps its name, flags and install rules; only its main source is the copy
get_target_property(_rpc_sources ggml-rpc SOURCES)
set(_rpc_new "")
foreach (src ${_rpc_sources})
  get_filename_component(name "${src}" NAME)
  if (name STREQUAL "ggml-rpc.cpp")
    list(APPEND _rpc_new "${_rpc_copy}")
  elseif (IS_ABSOLUTE "${src}")
    list(APPEND _rpc_new "${src}")
  else()
    list(APPEND _rpc_new "${_rpc_dir}/${src}")
  endif()
endforeach()
set_property(TARGET ggml-rpc PROPERTY SOURCES ${_rpc_new})
target_include_directories(ggml-rpc PRIVATE "${_rpc_dir}")
