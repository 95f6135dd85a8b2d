/* LD_PRELOAD library for bench/release_races.py: logs when each socket call of an HTTP GET starts
 * and ends, per thread, in memory (two clock reads, no system call added), and writes the log at
 * exit to $GILBENCH_SOCKET_LOG.<pid>, one "tid call start_ns end_ns" line per call. CPython's
 * socket module and gilbench's plain_http make these calls through libc, so both are seen alike,
 * which a `perf record` of every system call was not (it slowed every call enough to change which
 * release a CPU-bound thread wins).
 *
 *   GILBENCH_SOCKET_LOG=/tmp/log LD_PRELOAD=build/bench/libgilbench_socket_log.so python3 ...
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <netdb.h>
#include <poll.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

enum { capacity = 1 << 21 }; /* calls kept; later ones are counted, not kept */
enum call { c_resolve, c_socket, c_ioctl, c_connect, c_poll, c_getsockopt, c_send, c_recv, c_close };
static const char* const call_names[] = {"resolve", "socket", "ioctl", "connect", "poll",
                                         "getsockopt", "send", "recv", "close"};
struct record {
    int tid;
    int call;
    long long start, end;
};
static struct record records[capacity];
static atomic_int used;
static __thread int thread_id;

static long long now_ns(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec * 1000000000LL + t.tv_nsec;
}

static void log_call(enum call c, long long start) {
    const long long end = now_ns();
    if (!thread_id) thread_id = (int)syscall(SYS_gettid);
    const int i = atomic_fetch_add(&used, 1);
    if (i < capacity) records[i] = (struct record){thread_id, c, start, end};
}

/* The next definition of `name` (libc's), looked up once; its type is libc's declaration's. */
#define NEXT(name) \
    static __typeof__(&name) next_##name; \
    if (!next_##name) next_##name = (__typeof__(&name))dlsym(RTLD_NEXT, #name)

int getaddrinfo(const char* node, const char* service, const struct addrinfo* hints, struct addrinfo** res) {
    NEXT(getaddrinfo);
    const long long t = now_ns();
    const int r = next_getaddrinfo(node, service, hints, res);
    log_call(c_resolve, t);
    return r;
}

int socket(int domain, int type, int protocol) {
    NEXT(socket);
    const long long t = now_ns();
    const int r = next_socket(domain, type, protocol);
    log_call(c_socket, t);
    return r;
}

int ioctl(int fd, unsigned long request, ...) {
    va_list args;
    va_start(args, request);
    void* arg = va_arg(args, void*);
    va_end(args);
    NEXT(ioctl);
    const long long t = now_ns();
    const int r = next_ioctl(fd, request, arg);
    if (request == FIONBIO) log_call(c_ioctl, t); /* settimeout's; not every ioctl of the process */
    return r;
}

int connect(int fd, const struct sockaddr* addr, socklen_t len) {
    NEXT(connect);
    const long long t = now_ns();
    const int r = next_connect(fd, addr, len);
    log_call(c_connect, t);
    return r;
}

int poll(struct pollfd* fds, nfds_t n, int timeout) {
    NEXT(poll);
    const long long t = now_ns();
    const int r = next_poll(fds, n, timeout);
    log_call(c_poll, t);
    return r;
}

int getsockopt(int fd, int level, int name, void* value, socklen_t* len) {
    NEXT(getsockopt);
    const long long t = now_ns();
    const int r = next_getsockopt(fd, level, name, value, len);
    log_call(c_getsockopt, t);
    return r;
}

ssize_t send(int fd, const void* buf, size_t n, int flags) {
    NEXT(send);
    const long long t = now_ns();
    const ssize_t r = next_send(fd, buf, n, flags);
    log_call(c_send, t);
    return r;
}

ssize_t sendto(int fd, const void* buf, size_t n, int flags, const struct sockaddr* to, socklen_t len) {
    NEXT(sendto);
    const long long t = now_ns();
    const ssize_t r = next_sendto(fd, buf, n, flags, to, len);
    log_call(c_send, t);
    return r;
}

ssize_t recv(int fd, void* buf, size_t n, int flags) {
    NEXT(recv);
    const long long t = now_ns();
    const ssize_t r = next_recv(fd, buf, n, flags);
    log_call(c_recv, t);
    return r;
}

ssize_t recvfrom(int fd, void* buf, size_t n, int flags, struct sockaddr* from, socklen_t* len) {
    NEXT(recvfrom);
    const long long t = now_ns();
    const ssize_t r = next_recvfrom(fd, buf, n, flags, from, len);
    log_call(c_recv, t);
    return r;
}

int close(int fd) {
    NEXT(close);
    const long long t = now_ns();
    const int r = next_close(fd);
    log_call(c_close, t);
    return r;
}

__attribute__((destructor)) static void write_log(void) {
    const char* prefix = getenv("GILBENCH_SOCKET_LOG");
    if (!prefix || !*prefix) return;
    char path[4096];
    snprintf(path, sizeof path, "%s.%d", prefix, (int)getpid());
    FILE* out = fopen(path, "w");
    if (!out) {
        fprintf(stderr, "socket_log: cannot write %s\n", path);
        return;
    }
    int n = atomic_load(&used);
    if (n > capacity) {
        fprintf(stderr, "socket_log: %d calls past the first %d not kept\n", n - capacity, capacity);
        n = capacity;
    }
    for (int i = 0; i < n; ++i)
        fprintf(out, "%d %s %lld %lld\n", records[i].tid, call_names[records[i].call], records[i].start, records[i].end);
    fclose(out);
}
