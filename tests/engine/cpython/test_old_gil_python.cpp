// The old GIL's ticks timed on a Python 2 (engine/cpython/old_gil_python.hpp): stand-in programs
// (/bin/sh scripts written here) for what it accepts and every refusal, so no Python 2 is needed;
// a real Python 3 must be refused by its version. Every child is bounded by a short deadline.
#include "engine/cpython/old_gil_python.hpp"

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <string>

namespace ge = gilbench::engine;
using namespace std::chrono_literals;

namespace {

class OldGilPython : public ::testing::Test {
protected:
    void SetUp() override {
        dir_ = std::filesystem::temp_directory_path() / ("gilbench-old-gil-" + std::to_string(getpid()));
        std::filesystem::create_directories(dir_);
    }
    void TearDown() override { std::filesystem::remove_all(dir_); }
    // An executable /bin/sh script with `body`.
    std::string script(const std::string& name, const std::string& body) {
        const auto path = dir_ / name;
        std::ofstream(path) << "#!/bin/sh\n" << body << "\n";
        chmod(path.c_str(), 0755);
        return path.string();
    }
    std::filesystem::path dir_;
};

TEST_F(OldGilPython, APython2sLineIsRead) {
    std::string why;
    const auto t = ge::time_old_gil_python(script("py2", "echo some noise\necho 'gilbench-old-gil 2.7.18 13200'"),
                                           &why, 10s);
    ASSERT_TRUE(t) << why;
    EXPECT_EQ(t->version, "2.7.18");
    EXPECT_EQ(t->per_1000_ns, 13200);
    EXPECT_NE(ge::describe(*t, "/x/python").find("Python 2.7.18 (/x/python): 13.2 ns per countdown iteration"),
              std::string::npos);
}

TEST_F(OldGilPython, ItsArgumentsNeverReachAShell) {
    // The script prints its own arguments back: the program arrives as one argument after -c.
    std::string why;
    const auto t = ge::time_old_gil_python(
        script("args", "[ \"$1 $2 $3\" = '-E -s -c' ] && [ $# -eq 4 ] && echo 'gilbench-old-gil 2.7.18 1'"), &why,
        10s);
    EXPECT_TRUE(t) << why;
}

TEST_F(OldGilPython, EveryRefusalNamesThePathAndTheFix) {
    std::string why;
    EXPECT_FALSE(ge::time_old_gil_python((dir_ / "missing").string(), &why, 10s));
    EXPECT_NE(why.find("cannot run"), std::string::npos) << why;
    EXPECT_FALSE(ge::time_old_gil_python(script("py3", "echo 'gilbench-old-gil 3.11.2 18000'"), &why, 10s));
    EXPECT_NE(why.find("is Python 3.11.2, which has the new GIL"), std::string::npos) << why;
    EXPECT_FALSE(ge::time_old_gil_python(script("fails", "echo broken >&2\nexit 3"), &why, 10s));
    EXPECT_NE(why.find("exit status 3"), std::string::npos) << why;
    EXPECT_NE(why.find("broken"), std::string::npos) << why;
    EXPECT_FALSE(ge::time_old_gil_python(script("silent", "echo hello"), &why, 10s));
    EXPECT_NE(why.find("did not print the countdown's time"), std::string::npos) << why;
    EXPECT_FALSE(ge::time_old_gil_python(script("zero", "echo 'gilbench-old-gil 2.7.18 0'"), &why, 10s));
    EXPECT_NE(why.find("not a time"), std::string::npos) << why;
}

TEST_F(OldGilPython, ASlowProgramIsKilledAtTheDeadline) {
    std::string why;
    const auto start = std::chrono::steady_clock::now();
    EXPECT_FALSE(ge::time_old_gil_python(script("slow", "exec sleep 30"), &why, 300ms));
    EXPECT_LT(std::chrono::steady_clock::now() - start, 20s);
    EXPECT_NE(why.find("did not time the countdown within 0.3 s (killed)"), std::string::npos) << why;
}

TEST(OldGilPythonReal, APython3IsRefusedByItsVersion) {
    // /usr/bin/python3 runs the real program (Debian's python3 package: install-deps.sh).
    std::string why;
    EXPECT_FALSE(ge::time_old_gil_python("/usr/bin/python3", &why, 60s));
    EXPECT_NE(why.find("which has the new GIL"), std::string::npos) << why;
}

}  // namespace
