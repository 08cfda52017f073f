// tcp_tap: a TCP forwarder that records every byte it carries, standing in for a network
// capture in the mesh integration tests.
//   tcp_tap TARGET_HOST:PORT CAPTURE_FILE   (listens on 127.0.0.1, OS-chosen port, printed as
//                                            "listening on 127.0.0.1:PORT")
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <mutex>
#include <string>
#include <thread>

namespace {

std::mutex g_mu;
FILE* g_capture = nullptr;

void Pump(int client, sockaddr_in target) {
  int server = socket(AF_INET, SOCK_STREAM, 0);
  if (connect(server, reinterpret_cast<sockaddr*>(&target), sizeof target) != 0) {
    close(client);
    close(server);
    return;
  }
  pollfd fds[2] = {{client, POLLIN, 0}, {server, POLLIN, 0}};
  char buf[65536];
  for (;;) {
    if (poll(fds, 2, -1) < 0) break;
    bool done = false;
    for (int i = 0; i < 2 && !done; ++i) {
      if (!(fds[i].revents & (POLLIN | POLLHUP | POLLERR))) continue;
      ssize_t n = read(fds[i].fd, buf, sizeof buf);
      if (n <= 0) {
        done = true;
        break;
      }
      {
        std::lock_guard<std::mutex> l(g_mu);
        fwrite(buf, 1, static_cast<size_t>(n), g_capture);
        fflush(g_capture);
      }
      for (ssize_t off = 0; off < n;) {
        ssize_t w = write(fds[1 - i].fd, buf + off, static_cast<size_t>(n - off));
        if (w <= 0) {
          done = true;
          break;
        }
        off += w;
      }
    }
    if (done) break;
  }
  close(client);
  close(server);
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 3) {
    std::fprintf(stderr, "usage: tcp_tap TARGET_HOST:PORT CAPTURE_FILE\n");
    return 2;
  }
  std::string target_s = argv[1];
  size_t colon = target_s.rfind(':');
  sockaddr_in target{};
  target.sin_family = AF_INET;
  target.sin_port = htons(static_cast<uint16_t>(std::atoi(target_s.c_str() + colon + 1)));
  inet_pton(AF_INET, target_s.substr(0, colon).c_str(), &target.sin_addr);
  g_capture = std::fopen(argv[2], "ab");
  if (g_capture == nullptr) return 2;
  int listener = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof addr;
  if (bind(listener, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 ||
      listen(listener, 64) != 0 ||
      getsockname(listener, reinterpret_cast<sockaddr*>(&addr), &len) != 0) {
    return 2;
  }
  std::printf("listening on 127.0.0.1:%d\n", ntohs(addr.sin_port));
  std::fflush(stdout);
  for (;;) {
    int client = accept(listener, nullptr, nullptr);
    if (client < 0) continue;
    std::thread(Pump, client, target).detach();
  }
}
