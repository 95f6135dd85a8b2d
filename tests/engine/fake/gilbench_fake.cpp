// gilbench with the fake engine registered: the whole command line (run, plan, validate,
// engines) over the same library as the real executable, for tests/engine/fake/test_fake_engine.py.
#include "cli/app.hpp"
#include "fake_engine.hpp"

int main(int argc, char** argv) {
    gilbench::testing::register_fake_engine();
    return gilbench::cli::run_app(argc, argv);
}
