// A tiny stack-machine interpreter shaped like CPython 3.11's eval loop.
//
// The programs are data (a vector of instructions, a constants table) and the loop counter
// lives in a locals array filled at run time, so the compiler cannot fold the countdown: it
// really dispatches every instruction. CPython-shaped details that matter for the GIL:
// * the eval-breaker check sits on RESUME and on a *taken* backward jump, as 3.11's
//   CHECK_EVAL_BREAKER() in POP_JUMP_BACKWARD_IF_TRUE, so the new GIL is given up exactly
//   where CPython gives it up;
// * old-GIL ticks are charged on COMPARE_OP, BINARY_OP, the backward jump and calls: the
//   instructions CPython 2 did not route through its tick-free `fast_next_opcode` path, so
//   a countdown costs 3 ticks per iteration as it did there;
// * CALL_NATIVE calls a C++ function with the GIL held, as CPython calls a C function; the
//   function itself releases the GIL around what blocks (Py_BEGIN/END_ALLOW_THREADS), as
//   CPython's socket module does, possibly several times per call.
// Dispatch is a plain switch in a loop (computed goto would need a GCC extension); it runs
// the countdown at several hundred million instructions per second.
#include "interp/interp.hpp"

#include <array>
#include <vector>

namespace gilbench::interp {
namespace {

enum class Op : std::uint8_t {
    resume,                     // function entry: eval-breaker check
    load_fast,                  // push locals[arg]
    load_const,                 // push consts[arg]
    store_fast,                 // locals[arg] = pop
    compare_op,                 // a, b -> (a <cmp arg> b)
    binary_op,                  // a, b -> (a <op arg> b)
    pop_jump_forward_if_false,  // pop; if false: pc += arg
    pop_jump_backward_if_true,  // pop; if true: pc -= arg, then eval-breaker check
    call_native,                // pop i; native(i), called with the GIL held
    return_value,               // pop and leave
};

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

// Deep enough for both programs (they push at most 2 values).
constexpr std::size_t stack_size = 4;

RunResult eval(const Code& code, std::int64_t* locals, gil::Gil& gil, gil::ThreadState& ts,
               const std::function<void(std::int64_t)>* native) {
    std::array<std::int64_t, stack_size> stack{};
    std::int64_t* sp = stack.data();
    const Instr* pc = code.instrs.data();
    const std::int64_t* consts = code.consts.data();
    std::int64_t instructions = 0;
    std::int64_t iterations = 0;  // one per executed back-edge test: the loop body's end
    for (;;) {
        const Instr in = *pc++;
        ++instructions;
        switch (in.op) {
        case Op::resume:
            if (gil.eval_breaker()) gil.handle_eval_breaker(ts);
            break;
        case Op::load_fast:
            *sp++ = locals[in.arg];
            break;
        case Op::load_const:
            *sp++ = consts[in.arg];
            break;
        case Op::store_fast:
            locals[in.arg] = *--sp;
            break;
        case Op::compare_op: {
            gil.tick(ts);
            const std::int64_t right = *--sp;
            const std::int64_t left = sp[-1];
            sp[-1] = in.arg == compare_gt ? left > right : left < right;
            break;
        }
        case Op::binary_op: {
            gil.tick(ts);
            const std::int64_t right = *--sp;
            const std::int64_t left = sp[-1];
            sp[-1] = in.arg == binary_inplace_subtract ? left - right : left + right;
            break;
        }
        case Op::pop_jump_forward_if_false:
            if (!*--sp) pc += in.arg;
            break;
        case Op::pop_jump_backward_if_true:
            ++iterations;
            gil.tick(ts);
            if (*--sp) {
                pc -= in.arg;
                if (gil.eval_breaker()) gil.handle_eval_breaker(ts);
            }
            break;
        case Op::call_native:
            gil.tick(ts);
            (*native)(*--sp);
            break;
        case Op::return_value:
            --sp;
            return {iterations, instructions};
        }
    }
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

}  // namespace

RunResult run_countdown(gil::Gil& gil, gil::ThreadState& ts, std::int64_t n) {
    std::array<std::int64_t, 1> locals{n};
    return eval(countdown_code(), locals.data(), gil, ts, nullptr);
}

RunResult run_call_loop(gil::Gil& gil, gil::ThreadState& ts, std::int64_t count,
                        const std::function<void(std::int64_t i)>& native) {
    std::array<std::int64_t, 2> locals{0, count};
    return eval(call_loop_code(), locals.data(), gil, ts, &native);
}

void without_gil(gil::Gil& gil, gil::ThreadState& ts, const std::function<void()>& blocking) {
    gil.drop(ts);
    try {
        blocking();
    } catch (...) {
        gil.take(ts);  // the caller's contract: it holds the GIL whatever happens
        throw;
    }
    gil.take(ts);
}

RunResult run_blocking_loop(gil::Gil& gil, gil::ThreadState& ts, std::int64_t count,
                            const std::function<void(std::int64_t i)>& blocking) {
    return run_call_loop(gil, ts, count, [&](std::int64_t i) { without_gil(gil, ts, [&] { blocking(i); }); });
}

}  // namespace gilbench::interp
