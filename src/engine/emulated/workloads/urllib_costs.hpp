// The emulated engine's calibration as a record: urllib's costs (UrllibCosts) and the one
// description of its fields by name (UrllibCosts::fields), which every copy of it reads: the
// cache file (engine/cpython/calibration.hpp: one `name value` line per field), the run
// attributes urllib_costs_ns / urllib_costs_fields / urllib_costs_version (docs/hdf5-schema.md)
// and the analysis, which decodes them by name.
#pragma once

#include <array>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace gilbench::workloads {

// One value of the record: its name (the cache file's key, an entry of the run attribute
// urllib_costs_fields), its index in UrllibCosts::ns, its unit ("ns" or "permille") and what it is.
struct UrllibCostField {
    std::string_view name;
    std::size_t index;
    std::string_view unit;
    std::string_view meaning;
};

// urllib's own Python code around its system calls, as the interpreter runs it on this machine:
// the I/O thread holds the GIL for this long before the GET and after each of its steps.
// Beside a CPU-bound thread these gaps decide whether the CPU thread, woken by one release, is
// still on its way when the next release comes (then it wins the GIL) or already asleep again
// (docs/gil-fidelity.md). Each step has two costs: warm, as the code runs alone, back to back;
// and cold, as it runs right after the GIL came back from another thread (a CPU-bound thread
// ran meanwhile, and CPython's code then runs several times slower: caches, branch predictors,
// a core woken from idle). The emulated countdown that stands for this code is too small to
// slow down that way, so the workload runs the cold cost after a step where another thread
// took the GIL and this one waited cold_after or longer, until its next release; under the new
// GIL as cold as that wait's length makes it (cold()). Measured at the start of a run by the
// embedded CPython (engine/cpython/calibration.hpp); `fallback()` only where that is impossible or
// turned off.
struct UrllibCosts {
    // The order of the steps in `ns`: the 7 warm costs, then the same 7 cold, then the two
    // speeds, the two cold scales and the old GIL's countdown below (`fields` names each).
    enum Step : std::size_t {
        before_request,  // urlopen: Request, opener, handlers, up to getaddrinfo
        after_resolve,   // socket.create_connection's loop, up to socket()
        after_socket,    // settimeout (its ioctl is a step of its own), up to connect()
        after_connect,   // TCP_NODELAY, http.client's send(), up to sendall()
        after_send,      // HTTPResponse set up, up to recv_into()
        after_recv,      // status line and headers parsed, body read, up to close()
        after_close,     // back in the caller
        count
    };
    // After the 14 step costs, the interpreter's speed, for the old GIL's ticks (a tick is time:
    // gil::Config::tick_scale): the countdown's time per 1000 iterations, and urllib's code's
    // (warm) per 1000 bytecode instructions.
    static constexpr std::size_t countdown_per_1000 = 2 * count;
    static constexpr std::size_t urllib_per_1000_instructions = 2 * count + 1;
    // The waits (switch intervals) the calibration measures at; the cold costs above are the
    // middle one's.
    static constexpr std::array<std::chrono::microseconds, 3> waits{
        std::chrono::microseconds(500), std::chrono::microseconds(5'000), std::chrono::microseconds(50'000)};
    // Last, the share of the cold excess (cold - warm) paid after the first and the last of
    // `waits`, per mille (1000 after the middle one, by definition): cold().
    static constexpr std::size_t cold_scale_first = 2 * count + 2;
    // Then the countdown per 1000 iterations of the interpreter the old GIL's ticks are timed on:
    // a Python 2 given to the run (gilbench run --old-gil-python), else countdown_per_1000's
    // value (the embedded CPython 3 stands in). The calibration itself measures the fields above.
    static constexpr std::size_t old_gil_countdown_per_1000 = cold_scale_first + 2;
    static constexpr std::size_t measured_values = old_gil_countdown_per_1000;
    static constexpr std::size_t values = old_gil_countdown_per_1000 + 1;

    // The record's version: which fields it has. Each version's fields are the previous one's
    // and more, appended: 1 the 7 warm costs; 2 and the 7 cold; 3 and the two speeds; 4 and the
    // two cold scales; 5 and the old GIL's countdown. Files written before the names carried the values only, in this order
    // (analysis/gilbench_analysis/fidelity.py, urllib_costs_per_node, decodes them by length).
    // A field whose meaning changes gets a new name.
    static constexpr int version = 5;
    // Every value of `ns`, by name, in the order of `ns` (fields[i].index == i).
    static constexpr std::array<UrllibCostField, values> fields{{
        {"before_request_warm_ns", before_request, "ns", "urlopen up to getaddrinfo, warm (alone)"},
        {"after_resolve_warm_ns", after_resolve, "ns", "after getaddrinfo up to socket(), warm"},
        {"after_socket_warm_ns", after_socket, "ns", "after socket() up to connect(), warm"},
        {"after_connect_warm_ns", after_connect, "ns", "after connect() up to sendall(), warm"},
        {"after_send_warm_ns", after_send, "ns", "after sendall() up to recv_into(), warm"},
        {"after_recv_warm_ns", after_recv, "ns", "after recv_into() up to close(), warm"},
        {"after_close_warm_ns", after_close, "ns", "after close() back to the caller, warm"},
        {"before_request_cold_ns", count + before_request, "ns",
         "urlopen up to getaddrinfo, cold (right after the GIL came back after a 5 ms wait)"},
        {"after_resolve_cold_ns", count + after_resolve, "ns", "after getaddrinfo up to socket(), cold"},
        {"after_socket_cold_ns", count + after_socket, "ns", "after socket() up to connect(), cold"},
        {"after_connect_cold_ns", count + after_connect, "ns", "after connect() up to sendall(), cold"},
        {"after_send_cold_ns", count + after_send, "ns", "after sendall() up to recv_into(), cold"},
        {"after_recv_cold_ns", count + after_recv, "ns", "after recv_into() up to close(), cold"},
        {"after_close_cold_ns", count + after_close, "ns", "after close() back to the caller, cold"},
        {"countdown_per_1000_ns", countdown_per_1000, "ns", "the real interpreter's countdown, per 1000 iterations"},
        {"urllib_per_1000_instructions_ns", urllib_per_1000_instructions, "ns",
         "urllib's code (warm), per 1000 bytecode instructions"},
        {"cold_scale_500us_permille", cold_scale_first, "permille",
         "the share of the cold excess (cold - warm) paid after a 0.5 ms wait"},
        {"cold_scale_50ms_permille", cold_scale_first + 1, "permille",
         "the share of the cold excess (cold - warm) paid after a 50 ms wait"},
        {"old_gil_countdown_per_1000_ns", old_gil_countdown_per_1000, "ns",
         "the countdown per 1000 iterations of the interpreter the old GIL's ticks are timed on"},
    }};
    // The index in `ns` of the field `name`; nullopt for a name the record does not have.
    static std::optional<std::size_t> index_of(std::string_view name);
    // The fields' names, in the order of `ns` (the run attribute urllib_costs_fields).
    static std::vector<std::string> names();

    std::array<std::int64_t, values> ns{};

    // The value of the field `name`, and setting it; both throw std::out_of_range naming a
    // field the record does not have.
    std::int64_t get(std::string_view name) const;
    void set(std::string_view name, std::int64_t value);

    std::chrono::nanoseconds at(Step s, bool cold = false) const {
        return std::chrono::nanoseconds(ns[static_cast<std::size_t>(s) + (cold ? std::size_t{count} : std::size_t{0})]);
    }
    // A step's cost right after a wait of `wait` for the GIL another thread held: the warm cost
    // plus the share of the cold excess that wait brings (interpolated in log(wait) between
    // `waits`; outside them, the nearest).
    std::chrono::nanoseconds cold(Step s, std::chrono::nanoseconds wait) const;
    // The real interpreter's time for one countdown iteration, and for one of urllib's
    // instructions (warm), in ns.
    double countdown_ns_per_iteration() const { return static_cast<double>(ns[countdown_per_1000]) / 1000.0; }
    double old_gil_countdown_ns_per_iteration() const {
        return static_cast<double>(ns[old_gil_countdown_per_1000]) / 1000.0;
    }
    double urllib_ns_per_instruction() const { return static_cast<double>(ns[urllib_per_1000_instructions]) / 1000.0; }
    // The documented fallback, used only when the run cannot calibrate (no interpreter can be
    // embedded, the measurement failed) or is told not to (--no-calibration): medians measured
    // once on the development VM (CPython 3.11.2, bench/urllib_steps.py: warm 2 x 300
    // requests alone, cold 150 beside one CPU-bound thread, a timeout on every GET).
    // Another machine may take 2-3x longer; runs that use it are marked "fallback: <why>".
    static UrllibCosts fallback();
};

}  // namespace gilbench::workloads
