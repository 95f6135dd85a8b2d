#include "fake_engine.hpp"

#include <memory>
#include <vector>

#include "engine/factory.hpp"

namespace gilbench::testing {
namespace {

model::Measures measures(const model::Cell&) { return {}; }  // nothing but wall times and ops

class FakeTrial final : public engine::TrialWorkers {
public:
    explicit FakeTrial(const model::Cell& cell) : ops_(static_cast<std::size_t>(cell.threads)) {}
    void run(int thread, std::int64_t work) override {
        volatile std::int64_t n = work;  // volatile: the loop is not folded away
        while (n > 0) n = n - 1;
        ops_[static_cast<std::size_t>(thread)] = work;
    }
    engine::WorkerReport report(int thread) override {
        engine::WorkerReport r;
        r.ops = ops_[static_cast<std::size_t>(thread)];
        return r;  // r.gil stays nullopt: not measured
    }

private:
    std::vector<std::int64_t> ops_;
};

class FakeEngine final : public engine::Engine {
public:
    std::string_view name() const override { return "fake"; }
    std::unique_ptr<engine::TrialWorkers> make_trial(const model::Cell& cell, const engine::TrialContext&) override {
        return std::make_unique<FakeTrial>(cell);
    }
};

}  // namespace

const model::EngineDescriptor& fake_descriptor() {
    static const model::EngineDescriptor d{
        .name = "fake",
        .label = "Fake",
        .summary = "a test's fake engine: a C++ countdown that takes no GIL and measures nothing but time",
        .real = false,
        .accepts = {.workloads = {model::Workload::cpu},
                    .gils = {model::GilPolicy::new_gil},
                    .parallels = {model::Parallel::threads},
                    .keep_alive = false},
        .measures = &measures,
    };
    return d;
}

void register_fake_engine() {
    if (model::find_engine("fake")) return;
    engine::testing::register_engine(fake_descriptor(),
                                     [](const engine::EngineSetup&) { return std::make_unique<FakeEngine>(); });
}

}  // namespace gilbench::testing
