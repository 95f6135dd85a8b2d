#include "gil/semaphore.hpp"

#include <cerrno>
#include <cstring>
#include <stdexcept>
#include <string>

namespace gilbench::gil {
namespace {

[[noreturn]] void fail(const char* call) {
    throw std::runtime_error(std::string("GIL semaphore: ") + call + " failed: " + std::strerror(errno));
}

}  // namespace

Semaphore::Semaphore(unsigned value) {
    if (sem_init(&sem_, 0, value) != 0) fail("sem_init");
}

Semaphore::~Semaphore() { sem_destroy(&sem_); }

void Semaphore::post() {
    if (sem_post(&sem_) != 0) fail("sem_post");
}

void Semaphore::wait() {
    while (sem_wait(&sem_) != 0) {
        if (errno != EINTR) fail("sem_wait");
    }
}

}  // namespace gilbench::gil
