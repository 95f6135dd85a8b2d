// A tiny stack-machine interpreter shaped like CPython 3.11's eval loop.
//
// The programs are data (a vector of instructions, a constants table) and the loop counter
// lives in a locals array filled at run time, so the compiler cannot fold the countdown: it
// really dispatches every instruction. CPython-shaped details that matter for the GIL:
// * the eval-breaker check sits on RESUME and on a *taken* backward jump, as 3.11's
//   CHECK_EVAL_BREAKER() in POP_JUMP_BACKWARD_IF_TRUE and COMPARE_OP_INT_JUMP, so the new GIL
//   is given up exactly where CPython gives it up;
// * old-GIL ticks are charged on COMPARE_OP, BINARY_OP, the backward jump and calls: the
//   instructions CPython 2 did not route through its tick-free `fast_next_opcode` path, so
//   a countdown costs 3 ticks per iteration as it did there;
// * CALL_NATIVE calls a C++ function with the GIL held, as CPython calls a C function; the
//   function itself releases the GIL around what blocks (Py_BEGIN/END_ALLOW_THREADS), as
//   CPython's socket module does, possibly several times per call.
//
// Quickening: CPython 3.11 rewrites a function's bytecode after 8 calls (_PyCode_Quicken and
// the adaptive specializer): pairs become superinstructions (LOAD_FAST__LOAD_CONST,
// STORE_FAST__LOAD_FAST, ...) and int operations specialized ones (BINARY_OP_SUBTRACT_INT,
// COMPARE_OP_INT_JUMP, which also does the following conditional jump). quicken() does the
// same rewrite with the same pairing rule, so the countdown dispatches the 5 instructions per
// iteration a warmed-up CPython 3.11 dispatches, with the check at the same back-edge. Every
// instruction still counts as what it stands for (`instructions`), so the counts are those
// of the original bytecode; `dispatches` counts what was actually dispatched.
//
// Speed (the micro-benchmarks and docs/gil-fidelity.md): direct threading with computed goto
// (GCC/Clang; a switch elsewhere), the two top stack items cached in registers, and the eval
// loop compiled once per check mode so that a policy's check costs nothing in the others.
#include "engine/emulated/interp/interp.hpp"

#include <algorithm>
#include <array>
#include <chrono>
#include <limits>
#include <stdexcept>
#include <thread>
#include <type_traits>
#include <string>
#include <vector>

#if defined(__GNUC__)
#define GILBENCH_COMPUTED_GOTO 1
#else
#define GILBENCH_COMPUTED_GOTO 0
#endif

namespace gilbench::interp {
namespace {

// The list of opcodes, once: the enum, the names and the dispatch table come from it.
#define GILBENCH_OPCODES(X)                                                          \
    X(resume)                     /* function entry: eval-breaker check */           \
    X(load_fast)                  /* push locals[arg] */                             \
    X(load_const)                 /* push consts[arg] */                             \
    X(store_fast)                 /* locals[arg] = pop */                            \
    X(compare_op)                 /* a, b -> (a <cmp arg> b) */                      \
    X(binary_op)                  /* a, b -> (a <op arg> b) */                       \
    X(pop_jump_forward_if_false)  /* pop; if false: pc += arg */                     \
    X(pop_jump_backward_if_true)  /* pop; if true: pc -= arg, eval-breaker check */  \
    X(call_native)                /* pop i; native(i), called with the GIL held */   \
    X(return_value)               /* pop and leave */                                \
    /* 3.11's quickened forms (quicken()) */                                         \
    X(load_fast__load_fast)                                                          \
    X(load_fast__load_const)                                                         \
    X(load_const__load_fast)                                                         \
    X(store_fast__load_fast)                                                         \
    X(store_fast__store_fast)                                                        \
    X(binary_op_add_int)                                                             \
    X(binary_op_subtract_int)                                                        \
    X(compare_op_int_jump) /* compare + the POP_JUMP after it, check if backward */

enum class Op : std::uint8_t {
#define GILBENCH_ENUM(name) name,
    GILBENCH_OPCODES(GILBENCH_ENUM)
#undef GILBENCH_ENUM
};

const char* op_name(Op op) {
    static constexpr const char* names[] = {
#define GILBENCH_NAME(name) #name,
        GILBENCH_OPCODES(GILBENCH_NAME)
#undef GILBENCH_NAME
    };
    return names[static_cast<std::size_t>(op)];
}

enum Compare : std::int32_t { compare_lt, compare_gt };
enum Binary : std::int32_t { binary_inplace_add, binary_inplace_subtract };

struct Instr {
    Op op;
    std::int32_t arg;  // jump args are relative to the next instruction, as in CPython 3.11
};

struct Code {
    std::vector<Instr> instrs;
    std::vector<std::int64_t> consts;
};

// CPython 3.11's _PyCode_Quicken pairing rule, and the specializations the adaptive
// instructions settle on for int operands (ours are always ints). As in CPython, the
// superinstruction replaces the first of the pair; the second stays in place (it runs on
// its own only when jumped to) and `previous` is not reset after a pair, so LOAD_FAST
// LOAD_FAST LOAD_CONST rewrites the first two.
Code quicken(const Code& code) {
    Code q = code;
    auto& in = q.instrs;
    Op previous = Op::return_value;  // "no previous": return_value pairs with nothing
    for (std::size_t i = 0; i < in.size(); ++i) {
        const Op op = code.instrs[i].op;
        switch (op) {
        case Op::binary_op:
            in[i].op = in[i].arg == binary_inplace_add ? Op::binary_op_add_int : Op::binary_op_subtract_int;
            previous = Op::return_value;  // adaptive instructions end a pair (their caches sit between)
            continue;
        case Op::compare_op:
            if (i + 1 < in.size() && (code.instrs[i + 1].op == Op::pop_jump_forward_if_false ||
                                      code.instrs[i + 1].op == Op::pop_jump_backward_if_true))
                in[i].op = Op::compare_op_int_jump;
            previous = Op::return_value;
            continue;
        case Op::load_fast:
            if (previous == Op::load_fast) in[i - 1].op = Op::load_fast__load_fast;
            if (previous == Op::store_fast) in[i - 1].op = Op::store_fast__load_fast;
            if (previous == Op::load_const) in[i - 1].op = Op::load_const__load_fast;
            break;
        case Op::store_fast:
            if (previous == Op::store_fast) in[i - 1].op = Op::store_fast__store_fast;
            break;
        case Op::load_const:
            if (previous == Op::load_fast) in[i - 1].op = Op::load_fast__load_const;
            break;
        default:
            break;
        }
        previous = op;
    }
    return q;
}

// What the GIL needs from the loop: the eval-breaker test (new GIL, and free-threaded CPython,
// which still has one), old-GIL ticks, or nothing at all (benchmark baseline only, and the
// profiles' padding). free_threaded: the eval-breaker test plus a free-threaded profile's cost
// at every loop iteration (gil/free_threading.hpp), in a loop of its own so that the other
// policies' loops stay as they were.
enum class Checks { eval_breaker, ticks, none, free_threaded };

// A free-threaded profile's padding: `n` iterations of the quickened countdown, run by this
// interpreter without checks (defined below, with the programs).
void pad(gil::ThreadState& ts, std::int64_t n);

// A free-threaded profile's cost, worked out from the loop's iteration count: the loop only
// compares that count with `next` (the iteration where padding or a shared reference falls
// due), so the profile adds one compare per iteration, not its bookkeeping, to what it pads.
class FreeThreadedAccount {
public:
    FreeThreadedAccount(gil::Gil& gil, gil::ThreadState& ts) : gil_(gil), ts_(ts) {
        const gil::FreeThreadedCost cost = gil.config().free_threaded.value_or(gil::FreeThreadedCost{});
        overhead_ = cost.overhead_percent;
        period_ = cost.shared_ref_period;
        load(0);
    }
    std::int64_t next() const { return next_; }
    // Take up the thread's debt (again: a native call may have run bytecode on this thread).
    void load(std::int64_t iterations) {
        debt_ = ts_.free_threaded().padding_debt;
        since_ = ts_.free_threaded().since_shared_ref;
        base_ = iterations;
        plan();
    }
    // Charge the iterations since the last settle: whole padding batches and shared
    // references due, and with `flush` every whole padding iteration owed; the fraction stays.
    void settle(std::int64_t iterations, bool flush) {
        const std::int64_t done = iterations - base_;
        debt_ += done * overhead_;
        const std::int64_t owed = flush ? debt_ / 100 : debt_ / batch_debt * gil::padding_batch;
        if (owed > 0) pad(ts_, owed);
        debt_ -= owed * 100;
        if (period_ > 0) {
            since_ += done;
            for (; since_ >= period_; since_ -= period_) gil_.shared_ref(ts_);
        }
        base_ = iterations;
        ts_.free_threaded().padding_debt = debt_;
        ts_.free_threaded().since_shared_ref = since_;
        plan();
    }

private:
    static constexpr std::int64_t batch_debt = gil::padding_batch * 100;
    void plan() {
        next_ = std::numeric_limits<std::int64_t>::max();
        if (overhead_ > 0) next_ = base_ + (batch_debt - debt_ + overhead_ - 1) / overhead_;
        if (period_ > 0) next_ = std::min(next_, base_ + period_ - since_);
    }
    gil::Gil& gil_;
    gil::ThreadState& ts_;
    std::int64_t overhead_ = 0, period_ = 0;
    std::int64_t base_ = 0;   // the loop's iteration count at the last load or settle
    std::int64_t debt_ = 0;   // padding owed then, in hundredths of an iteration (< one batch)
    std::int64_t since_ = 0;  // iterations since the last shared reference then
    std::int64_t next_ = 0;
};

// Deep enough for both programs (they push at most 2 values); the two top items live in
// registers, the rest here.
constexpr std::size_t stack_size = 8;
// Longest program eval() accepts (its threaded copy lives on the stack).
constexpr std::size_t max_code = 32;

template <Checks C>
RunResult eval(const Code& code, std::int64_t* locals, gil::Gil& gil, gil::ThreadState& ts,
               const std::function<void(std::int64_t)>* native) {
#if GILBENCH_COMPUTED_GOTO
    static const void* const handlers[] = {
#define GILBENCH_LABEL(name) &&target_##name,
        GILBENCH_OPCODES(GILBENCH_LABEL)
#undef GILBENCH_LABEL
    };
#endif
    // Direct threading: each instruction carries its handler's address, and the argument of
    // the instruction after it (a superinstruction's second half, a compare's jump).
    struct Threaded {
        const void* handler;
        Op op;
        std::int32_t arg;
        std::int32_t next_arg;
        Op next_op;
    };
    if (code.instrs.size() > max_code) throw std::logic_error("interp: program longer than max_code");
    std::array<Threaded, max_code> program;
    for (std::size_t i = 0; i < code.instrs.size(); ++i) {
        const Instr& in = code.instrs[i];
        const Instr next = i + 1 < code.instrs.size() ? code.instrs[i + 1] : Instr{Op::return_value, 0};
#if GILBENCH_COMPUTED_GOTO
        program[i] = {handlers[static_cast<std::size_t>(in.op)], in.op, in.arg, next.arg, next.op};
#else
        program[i] = {nullptr, in.op, in.arg, next.arg, next.op};
#endif
    }

    std::array<std::int64_t, stack_size> stack{};
    std::int64_t* sp = stack.data();  // memory part of the stack, below nos
    std::int64_t tos = 0, nos = 0;    // top and next-on-stack, in registers
    const Threaded* pc = program.data();
    const std::int64_t* consts = code.consts.data();
    std::int64_t dispatches = 0;
    std::int64_t instructions = 0;
    std::int64_t iterations = 0;  // one per executed back-edge test: the loop body's end

    // Free-threaded profiles: the cost, settled when due and around native calls (which may
    // run bytecode on this thread themselves).
    struct NoAccount {};
    [[maybe_unused]] std::conditional_t<C == Checks::free_threaded, FreeThreadedAccount, NoAccount> account =
        [&] {
            if constexpr (C == Checks::free_threaded) return FreeThreadedAccount(gil, ts);
            else return NoAccount{};
        }();

#define PUSH(x)             \
    do {                    \
        *sp++ = nos;        \
        nos = tos;          \
        tos = (x);          \
    } while (0)
#define DROP1()             \
    do {                    \
        tos = nos;          \
        nos = *--sp;        \
    } while (0)
#define CHECK_EVAL_BREAKER()                                                     \
    do {                                                                         \
        if constexpr (C == Checks::eval_breaker)                                 \
            if (gil.eval_breaker()) [[unlikely]] gil.handle_eval_breaker(ts);    \
    } while (0)
#define TICK()                                                                   \
    do {                                                                         \
        if constexpr (C == Checks::ticks) gil.tick(ts);                          \
    } while (0)
// Once per loop iteration, after ++iterations.
#define FREE_THREADED_ITERATION()                                                \
    do {                                                                         \
        if constexpr (C == Checks::free_threaded)                                \
            if (iterations >= account.next()) [[unlikely]] account.settle(iterations, false); \
    } while (0)
#define FREE_THREADED_SAVE()                                                     \
    do {                                                                         \
        if constexpr (C == Checks::free_threaded) account.settle(iterations, false); \
    } while (0)
#define FREE_THREADED_LOAD()                                                     \
    do {                                                                         \
        if constexpr (C == Checks::free_threaded) account.load(iterations);      \
    } while (0)
#if GILBENCH_COMPUTED_GOTO
#define TARGET(name) target_##name:
#define DISPATCH()          \
    do {                    \
        ++dispatches;       \
        goto* pc->handler;  \
    } while (0)
    DISPATCH();
#else
#define TARGET(name) case Op::name:
#define DISPATCH()          \
    do {                    \
        ++dispatches;       \
        goto dispatch;      \
    } while (0)
    ++dispatches;
dispatch:
    switch (pc->op) {
#endif

    TARGET(resume) {
        ++instructions;
        ++pc;
        CHECK_EVAL_BREAKER();
        DISPATCH();
    }
    TARGET(load_fast) {
        ++instructions;
        PUSH(locals[pc->arg]);
        ++pc;
        DISPATCH();
    }
    TARGET(load_const) {
        ++instructions;
        PUSH(consts[pc->arg]);
        ++pc;
        DISPATCH();
    }
    TARGET(store_fast) {
        ++instructions;
        locals[pc->arg] = tos;
        DROP1();
        ++pc;
        DISPATCH();
    }
    TARGET(compare_op) {
        ++instructions;
        TICK();
        const bool r = pc->arg == compare_gt ? nos > tos : nos < tos;
        nos = *--sp;
        tos = r;
        ++pc;
        DISPATCH();
    }
    TARGET(binary_op) {
        ++instructions;
        TICK();
        const std::int64_t r = pc->arg == binary_inplace_subtract ? nos - tos : nos + tos;
        nos = *--sp;
        tos = r;
        ++pc;
        DISPATCH();
    }
    TARGET(pop_jump_forward_if_false) {
        ++instructions;
        const bool taken = !tos;
        DROP1();
        pc += 1 + (taken ? pc->arg : 0);
        DISPATCH();
    }
    TARGET(pop_jump_backward_if_true) {
        ++instructions;
        ++iterations;
        TICK();
        FREE_THREADED_ITERATION();
        const bool taken = tos != 0;
        DROP1();
        if (taken) {
            pc = pc + 1 - pc->arg;
            CHECK_EVAL_BREAKER();
        } else {
            ++pc;
        }
        DISPATCH();
    }
    TARGET(call_native) {
        ++instructions;
        TICK();
        const std::int64_t i = tos;
        DROP1();
        ++pc;
        FREE_THREADED_SAVE();
        (*native)(i);
        FREE_THREADED_LOAD();
        DISPATCH();
    }
    TARGET(return_value) {
        ++instructions;
        DROP1();
        // Pay the whole iterations owed now, so a run's padding is exactly
        // floor(iterations * overhead / 100) plus what earlier runs carried over.
        if constexpr (C == Checks::free_threaded) account.settle(iterations, true);
        return {iterations, instructions, dispatches};
    }
    TARGET(load_fast__load_fast) {
        instructions += 2;
        PUSH(locals[pc->arg]);
        PUSH(locals[pc->next_arg]);
        pc += 2;
        DISPATCH();
    }
    TARGET(load_fast__load_const) {
        instructions += 2;
        PUSH(locals[pc->arg]);
        PUSH(consts[pc->next_arg]);
        pc += 2;
        DISPATCH();
    }
    TARGET(load_const__load_fast) {
        instructions += 2;
        PUSH(consts[pc->arg]);
        PUSH(locals[pc->next_arg]);
        pc += 2;
        DISPATCH();
    }
    TARGET(store_fast__load_fast) {
        instructions += 2;
        locals[pc->arg] = tos;  // pop, then push: the memory part of the stack is untouched
        tos = locals[pc->next_arg];
        pc += 2;
        DISPATCH();
    }
    TARGET(store_fast__store_fast) {
        instructions += 2;
        locals[pc->arg] = tos;
        locals[pc->next_arg] = nos;
        tos = *--sp;
        nos = *--sp;
        pc += 2;
        DISPATCH();
    }
    TARGET(binary_op_add_int) {
        ++instructions;
        TICK();
        tos = nos + tos;
        nos = *--sp;
        ++pc;
        DISPATCH();
    }
    TARGET(binary_op_subtract_int) {
        ++instructions;
        TICK();
        tos = nos - tos;
        nos = *--sp;
        ++pc;
        DISPATCH();
    }
    TARGET(compare_op_int_jump) {
        // COMPARE_OP + POP_JUMP_{FORWARD_IF_FALSE,BACKWARD_IF_TRUE}: the pair pops both.
        instructions += 2;
        TICK();
        const bool r = pc->arg == compare_gt ? nos > tos : nos < tos;
        tos = *--sp;
        nos = *--sp;
        if (pc->next_op == Op::pop_jump_backward_if_true) {
            ++iterations;
            TICK();  // CPython 2 ticked the back-edge too; the forward jump was predicted
            FREE_THREADED_ITERATION();
            if (r) {
                pc = pc + 2 - pc->next_arg;
                CHECK_EVAL_BREAKER();
            } else {
                pc += 2;
            }
        } else {
            pc += 2 + (r ? 0 : pc->next_arg);
        }
        DISPATCH();
    }
#if !GILBENCH_COMPUTED_GOTO
    }
    throw std::logic_error("interp: unknown opcode");
#endif
#undef PUSH
#undef DROP1
#undef CHECK_EVAL_BREAKER
#undef TICK
#undef FREE_THREADED_ITERATION
#undef FREE_THREADED_SAVE
#undef FREE_THREADED_LOAD
#undef TARGET
#undef DISPATCH
}

// CPython 3.11.7's `dis` of `def countdown(n): while n > 0: n -= 1` (loop inverted, test at
// the bottom); `return None` becomes LOAD_CONST 0 since our stack holds integers.
const Code& countdown_code() {
    static const Code code{
        {
            {Op::resume, 0},
            {Op::load_fast, 0},                  // n
            {Op::load_const, 0},                 // 0
            {Op::compare_op, compare_gt},
            {Op::pop_jump_forward_if_false, 8},  // -> exit
            {Op::load_fast, 0},                  // body:
            {Op::load_const, 1},                 // 1
            {Op::binary_op, binary_inplace_subtract},
            {Op::store_fast, 0},
            {Op::load_fast, 0},
            {Op::load_const, 0},
            {Op::compare_op, compare_gt},
            {Op::pop_jump_backward_if_true, 8},  // -> body, check point
            {Op::load_const, 0},                 // exit:
            {Op::return_value, 0},
        },
        {0, 1},
    };
    return code;
}

// `i = 0; while i < count: native(i); i += 1`, the same loop shape as the countdown;
// CALL_NATIVE stands for CPython's LOAD_GLOBAL/PRECALL/CALL/POP_TOP of a C function.
const Code& call_loop_code() {
    static const Code code{
        {
            {Op::resume, 0},
            {Op::load_fast, 0},  // i
            {Op::load_fast, 1},  // count
            {Op::compare_op, compare_lt},
            {Op::pop_jump_forward_if_false, 10},  // -> exit
            {Op::load_fast, 0},                   // body:
            {Op::call_native, 0},
            {Op::load_fast, 0},
            {Op::load_const, 1},  // 1
            {Op::binary_op, binary_inplace_add},
            {Op::store_fast, 0},
            {Op::load_fast, 0},
            {Op::load_fast, 1},
            {Op::compare_op, compare_lt},
            {Op::pop_jump_backward_if_true, 10},  // -> body, check point
            {Op::load_const, 0},                  // exit:
            {Op::return_value, 0},
        },
        {0, 1},
    };
    return code;
}

const Code& program(const Code& generic, const Code& quickened, Quickening q) {
    return q == Quickening::on ? quickened : generic;
}

const Code& countdown_program(Quickening q) {
    static const Code quickened = quicken(countdown_code());
    return program(countdown_code(), quickened, q);
}

const Code& call_loop_program(Quickening q) {
    static const Code quickened = quicken(call_loop_code());
    return program(call_loop_code(), quickened, q);
}

// The check mode follows the policy: only the old GIL ticks, and `none` keeps the breaker
// test (free-threaded CPython still has an eval breaker, for signals and GC); the profiles
// keep it too and pay their cost.
RunResult eval_for_policy(const Code& code, std::int64_t* locals, gil::Gil& gil, gil::ThreadState& ts,
                          const std::function<void(std::int64_t)>* native) {
    if (gil.config().policy == gil::Policy::old_gil) return eval<Checks::ticks>(code, locals, gil, ts, native);
    if (gil.config().free_threaded) return eval<Checks::free_threaded>(code, locals, gil, ts, native);
    return eval<Checks::eval_breaker>(code, locals, gil, ts, native);
}

void pad(gil::ThreadState& ts, std::int64_t n) {
    static gil::Gil unused_gil(gil::Config{.policy = gil::Policy::none});
    std::array<std::int64_t, 1> locals{n};
    eval<Checks::none>(countdown_program(Quickening::on), locals.data(), unused_gil, ts, nullptr);
    ts.free_threaded().padding_iterations += n;
}

}  // namespace

RunResult run_countdown(gil::Gil& gil, gil::ThreadState& ts, std::int64_t n, Quickening q) {
    std::array<std::int64_t, 1> locals{n};
    return eval_for_policy(countdown_program(q), locals.data(), gil, ts, nullptr);
}

double old_gil_countdown_ns_per_iteration() {
    // The best of many short runs spread over ~20 ms: one slow stretch of a shared machine
    // (another process, a vCPU descheduled) must not set the speed for the whole process.
    static const double ns = [] {
        // A check interval no run reaches: the ticks are counted, never acted on.
        gil::Gil gil(gil::Config{.policy = gil::Policy::old_gil, .check_interval = 1 << 30});
        gil::ThreadState ts(0);
        gil.take(ts);
        constexpr std::int64_t n = 100'000;
        double best = 1e9;
        for (int i = 0; i < 25; ++i) {
            const auto t = std::chrono::steady_clock::now();
            run_countdown(gil, ts, n);
            best = std::min(best, std::chrono::duration<double, std::nano>(std::chrono::steady_clock::now() - t).count());
            std::this_thread::yield();
        }
        gil.drop(ts);
        return std::max(best / n, 0.1);
    }();
    return ns;
}

RunResult run_countdown_without_checks(std::int64_t n, Quickening q) {
    // eval<Checks::none> never touches the GIL; it still needs one to satisfy the signature.
    static gil::Gil unused_gil(gil::Config{.policy = gil::Policy::none});
    thread_local gil::ThreadState unused_state(0);
    std::array<std::int64_t, 1> locals{n};
    return eval<Checks::none>(countdown_program(q), locals.data(), unused_gil, unused_state, nullptr);
}

RunResult run_call_loop(gil::Gil& gil, gil::ThreadState& ts, std::int64_t count,
                        const std::function<void(std::int64_t i)>& native) {
    std::array<std::int64_t, 2> locals{0, count};
    return eval_for_policy(call_loop_program(Quickening::on), locals.data(), gil, ts, &native);
}

std::vector<std::string> countdown_listing(Quickening q) {
    std::vector<std::string> out;
    for (const Instr& in : countdown_program(q).instrs) out.emplace_back(op_name(in.op));
    return out;
}

void begin_allow_threads(gil::Gil& gil, gil::ThreadState& ts) { gil.drop(ts); }
void end_allow_threads(gil::Gil& gil, gil::ThreadState& ts) { gil.take(ts); }

void without_gil(gil::Gil& gil, gil::ThreadState& ts, const std::function<void()>& blocking) {
    begin_allow_threads(gil, ts);
    try {
        blocking();
    } catch (...) {
        end_allow_threads(gil, ts);  // the caller's contract: it holds the GIL whatever happens
        throw;
    }
    end_allow_threads(gil, ts);
}

RunResult run_blocking_loop(gil::Gil& gil, gil::ThreadState& ts, std::int64_t count,
                            const std::function<void(std::int64_t i)>& blocking) {
    return run_call_loop(gil, ts, count, [&](std::int64_t i) { without_gil(gil, ts, [&] { blocking(i); }); });
}

}  // namespace gilbench::interp
