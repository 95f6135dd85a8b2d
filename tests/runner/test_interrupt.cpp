// Stop signals (runner/interrupt.hpp): an abandon is carried out by rank 0's main thread at
// its next abandon_point, by the watcher only if the main thread never gets there, and a first
// SIGUSR1 only asks to stop after the trial. Each case runs in a child process (death tests):
// the handlers and the exit are process-wide.
#include <gtest/gtest.h>

#include <chrono>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <thread>

#include "runner/interrupt.hpp"

using namespace std::chrono_literals;
namespace runner = gilbench::runner;

namespace {

// The abandon action used below: says which thread ran it.
void install(bool rank0, std::chrono::milliseconds grace = 100ms) {
    runner::install_stop_signals(rank0, grace);
    const auto main_id = std::this_thread::get_id();
    runner::on_abandon([main_id](int sig) {
        std::fprintf(stderr, "abandon action: signal %d, on the main thread: %s\n", sig,
                     std::this_thread::get_id() == main_id ? "yes" : "no");
    });
}

// The main thread waiting as the runner does: short naps, looking for an abandon.
void wait_looking(std::chrono::milliseconds how_long) {
    for (auto end = std::chrono::steady_clock::now() + how_long; std::chrono::steady_clock::now() < end;) {
        runner::abandon_point();
        std::this_thread::sleep_for(2ms);
    }
}

}  // namespace

TEST(InterruptDeathTest, SigtermIsCarriedOutByTheMainThreadAtItsNextAbandonPoint) {
    GTEST_FLAG_SET(death_test_style, "threadsafe");
    EXPECT_EXIT(
        {
            install(true);
            std::raise(SIGTERM);
            wait_looking(5s);
            std::fprintf(stderr, "still running\n");
            std::exit(1);
        },
        testing::ExitedWithCode(128 + SIGTERM), "abandon action: signal 15, on the main thread: yes");
}

TEST(InterruptDeathTest, TheWatcherTakesOverWhenTheMainThreadNeverLooks) {
    GTEST_FLAG_SET(death_test_style, "threadsafe");
    EXPECT_EXIT(
        {
            install(true);
            std::raise(SIGINT);
            std::this_thread::sleep_for(5s);  // stuck: no abandon_point
            std::fprintf(stderr, "still running\n");
            std::exit(1);
        },
        testing::ExitedWithCode(128 + SIGINT), "abandon action: signal 2, on the main thread: no");
}

TEST(InterruptDeathTest, AFirstSigusr1OnlyAsksToStopAfterTheTrialASecondAbandons) {
    GTEST_FLAG_SET(death_test_style, "threadsafe");
    EXPECT_EXIT(
        {
            install(true);
            std::raise(SIGUSR1);
            wait_looking(300ms);  // longer than the watcher's takeover: nothing may happen
            if (!runner::stop_requested().load() || runner::stop_signal() != SIGUSR1) std::exit(2);
            std::fprintf(stderr, "first SIGUSR1: stop requested, still running\n");
            std::raise(SIGUSR1);
            wait_looking(5s);
            std::exit(1);
        },
        testing::ExitedWithCode(128 + SIGUSR1),
        "first SIGUSR1: stop requested, still running\n.*abandon action: signal 10, on the main thread: yes");
}

TEST(InterruptDeathTest, OtherRanksNeverRunTheActionAndExitAfterTheGrace) {
    GTEST_FLAG_SET(death_test_style, "threadsafe");
    EXPECT_EXIT(
        {
            install(false, 200ms);
            std::raise(SIGTERM);
            wait_looking(5s);
            std::exit(1);
        },
        testing::ExitedWithCode(128 + SIGTERM), "^$");
}
