#include "rpc.h"

#include <cerrno>
#include <cstdint>
#include <chrono>
#include <cstring>

#include "errors.h"
#include "ggml-rpc.h"

#if defined(_WIN32)
#include <winsock2.h>
#include <ws2tcpip.h>
#else
#include <fcntl.h>
#include <netdb.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>
#endif

namespace smolvlm::rpc {
namespace {

using AddServerFn = ggml_backend_reg_t (*)(const char *endpoint);
using FailedFn = bool (*)(const char *endpoint);

ggml_backend_reg_t Reg() { return ggml_backend_reg_by_name("RPC"); }

FailedFn FailedQuery() {
  ggml_backend_reg_t reg = Reg();
  return reg ? reinterpret_cast<FailedFn>(ggml_backend_reg_get_proc_address(reg, "smolvlm_rpc_endpoint_failed")) : nullptr;
}

[[noreturn]] void Unavailable(const std::string &endpoint, const std::string &why) {
  throw Error(code::RPC_UNAVAILABLE, "rpc-server " + endpoint + ": " + why);
}

/** host and port of "host:port" ("[v6]:port" too); JS has checked the form. */
bool Split(const std::string &endpoint, std::string &host, std::string &port) {
  const size_t colon = endpoint.rfind(':');
  if (colon == std::string::npos || colon == 0 || colon + 1 == endpoint.size()) return false;
  host = endpoint.substr(0, colon);
  port = endpoint.substr(colon + 1);
  if (host.size() > 2 && host.front() == '[' && host.back() == ']') host = host.substr(1, host.size() - 2);
  return true;
}

#if defined(_WIN32)
using Socket = SOCKET;
constexpr Socket kNoSocket = INVALID_SOCKET;
void CloseSocket(Socket s) { closesocket(s); }
int LastSocketError() { return WSAGetLastError(); }
bool InProgress(int e) { return e == WSAEWOULDBLOCK || e == WSAEINPROGRESS; }
int Poll(WSAPOLLFD *p, int ms) { return WSAPoll(p, 1, ms); }
using PollFd = WSAPOLLFD;
void NonBlocking(Socket s) {
  u_long on = 1;
  ioctlsocket(s, FIONBIO, &on);
}
std::string ErrorText(int e) { return "socket error " + std::to_string(e); }
#else
using Socket = int;
constexpr Socket kNoSocket = -1;
void CloseSocket(Socket s) { close(s); }
int LastSocketError() { return errno; }
bool InProgress(int e) { return e == EINPROGRESS; }
int Poll(pollfd *p, int ms) { return poll(p, 1, ms); }
using PollFd = pollfd;
void NonBlocking(Socket s) { fcntl(s, F_SETFL, fcntl(s, F_GETFL, 0) | O_NONBLOCK); }
std::string ErrorText(int e) { return std::strerror(e); }
#endif

using Clock = std::chrono::steady_clock;
#if defined(MSG_NOSIGNAL)
constexpr int kSendFlags = MSG_NOSIGNAL;  // a peer that closed is an error, not SIGPIPE
#else
constexpr int kSendFlags = 0;
#endif

int MsLeft(Clock::time_point deadline) {
  const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now()).count();
  return left > 0 ? static_cast<int>(left) : 0;
}

/** Waits until `s` is readable (POLLIN) or writable (POLLOUT) before the deadline. */
bool WaitFor(Socket s, short events, Clock::time_point deadline) {
  PollFd p{};
  p.fd = s;
  p.events = events;
  const int ms = MsLeft(deadline);
  return ms > 0 && Poll(&p, ms) > 0;
}

/** Writes or reads all `n` bytes of the non-blocking socket before the deadline. */
bool Transfer(Socket s, char *data, size_t n, bool write, Clock::time_point deadline) {
  while (n > 0) {
    if (!WaitFor(s, write ? POLLOUT : POLLIN, deadline)) return false;
    const auto k = write ? send(s, data, static_cast<int>(n), kSendFlags) : recv(s, data, static_cast<int>(n), 0);
    if (k <= 0) return false;
    data += k;
    n -= static_cast<size_t>(k);
  }
  return true;
}

/**
 * llama.cpp's RPC handshake, bounded: HELLO (command 14, "always 14" in ggml-rpc.cpp) with no
 * transport capabilities, answered by the protocol version. "" when the server speaks this
 * protocol version, else why not. A silent peer would otherwise hang the client's first read.
 */
std::string Hello(Socket s, Clock::time_point deadline, int timeout_ms) {
  constexpr uint8_t kHello = 14;
  constexpr size_t kCapsSize = 24;  // RPC_CONN_CAPS_SIZE (transport.h)
  char request[1 + 8 + kCapsSize] = {};
  request[0] = static_cast<char>(kHello);
  const uint64_t size = kCapsSize;
  std::memcpy(request + 1, &size, sizeof size);  // little-endian hosts, as ggml-rpc itself assumes
  uint64_t reply_size = 0;
  char reply[4 + kCapsSize] = {};
  const std::string late = "no RPC handshake within " + std::to_string(timeout_ms) + " ms (is it an rpc-server?)";
  if (!Transfer(s, request, sizeof request, true, deadline)) return late;
  if (!Transfer(s, reinterpret_cast<char *>(&reply_size), sizeof reply_size, false, deadline)) return late;
  if (reply_size != sizeof reply) return "not an rpc-server of this protocol (its handshake reply has the wrong size)";
  if (!Transfer(s, reply, sizeof reply, false, deadline)) return late;
  const int major = static_cast<uint8_t>(reply[0]), minor = static_cast<uint8_t>(reply[1]), patch = static_cast<uint8_t>(reply[2]);
  if (major != RPC_PROTO_MAJOR_VERSION || minor > RPC_PROTO_MINOR_VERSION) {
    return "its RPC protocol is " + std::to_string(major) + "." + std::to_string(minor) + "." + std::to_string(patch) + ", this build speaks " +
           std::to_string(RPC_PROTO_MAJOR_VERSION) + "." + std::to_string(RPC_PROTO_MINOR_VERSION) + " (build rpc-server from the same llama.cpp)";
  }
  return "";
}

/**
 * A TCP connect to the endpoint and the RPC handshake, both within `timeout_ms` (then closed, so
 * that llama.cpp's client makes its own connection); "" on success, else why not.
 */
std::string Probe(const std::string &endpoint, int timeout_ms) {
#if defined(_WIN32)
  static WSADATA wsa;
  static const int wsa_ok = WSAStartup(MAKEWORD(2, 2), &wsa);
  if (wsa_ok != 0) return "cannot initialise Windows sockets";
#endif
  std::string host, port;
  if (!Split(endpoint, host, port)) return "not host:port";
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  addrinfo *found = nullptr;
  if (int rc = getaddrinfo(host.c_str(), port.c_str(), &hints, &found); rc != 0) {
    return std::string("cannot resolve ") + host + " (" + gai_strerror(rc) + ")";
  }
  std::string why = "no address";
  const auto deadline = Clock::now() + std::chrono::milliseconds(timeout_ms);
  for (addrinfo *a = found; a; a = a->ai_next) {
    Socket s = socket(a->ai_family, a->ai_socktype, a->ai_protocol);
    if (s == kNoSocket) {
      why = "cannot create a socket: " + ErrorText(LastSocketError());
      continue;
    }
    NonBlocking(s);
    int rc = connect(s, a->ai_addr, static_cast<int>(a->ai_addrlen));
    if (rc != 0 && InProgress(LastSocketError())) {
      if (!WaitFor(s, POLLOUT, deadline)) {
        why = "no answer within " + std::to_string(timeout_ms) + " ms (unreachable, or a firewall drops the connection)";
        CloseSocket(s);
        break;  // the time is spent
      }
      int err = 0;
      socklen_t len = sizeof err;
      getsockopt(s, SOL_SOCKET, SO_ERROR, reinterpret_cast<char *>(&err), &len);
      rc = err == 0 ? 0 : -1;
      if (rc != 0) why = "cannot connect: " + ErrorText(err);
    } else if (rc != 0) {
      why = "cannot connect: " + ErrorText(LastSocketError());
    }
    if (rc == 0) {
      why = Hello(s, deadline, timeout_ms);
      CloseSocket(s);
      freeaddrinfo(found);
      return why;
    }
    CloseSocket(s);
  }
  freeaddrinfo(found);
  return why;
}

}  // namespace

std::vector<ggml_backend_dev_t> Connect(const std::vector<std::string> &endpoints, int timeout_ms) {
  std::vector<ggml_backend_dev_t> devices;
  if (endpoints.empty()) return devices;
  ggml_backend_reg_t reg = Reg();
  auto add_server = reg ? reinterpret_cast<AddServerFn>(ggml_backend_reg_get_proc_address(reg, "ggml_backend_rpc_add_server")) : nullptr;
  if (!add_server || !FailedQuery()) {
    throw Error(code::INTERNAL, "this build has no RPC backend (libggml-rpc beside the addon, built from cmake/ggml-rpc.cmake)");
  }
  for (const auto &endpoint : endpoints) {
    if (std::string why = Probe(endpoint, timeout_ms); !why.empty()) Unavailable(endpoint, why);
    // (a refused handshake is logged on the connection's own thread: the reason is generic here)
    ggml_backend_reg_t server = add_server(endpoint.c_str());
    if (!server || ggml_backend_reg_dev_count(server) == 0) {
      Unavailable(endpoint, "the connection or the handshake failed (is it an rpc-server of this llama.cpp version?)");
    }
    for (size_t i = 0; i < ggml_backend_reg_dev_count(server); i++) devices.push_back(ggml_backend_reg_dev_get(server, i));
  }
  return devices;
}

std::string FirstFailed(const std::vector<std::string> &endpoints) {
  if (endpoints.empty()) return "";
  FailedFn failed = FailedQuery();
  if (!failed) return "";
  for (const auto &e : endpoints)
    if (failed(e.c_str())) return e;
  return "";
}

void Check(const std::vector<std::string> &endpoints, const char *during) {
  const std::string e = FirstFailed(endpoints);
  if (!e.empty()) Unavailable(e, std::string("the connection was lost ") + during + " (the server stopped or the network failed); the model cannot run until it is loaded again");
}

}  // namespace smolvlm::rpc
