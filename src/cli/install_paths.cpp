#include "cli/install_paths.hpp"

#include <filesystem>
#include <system_error>

namespace gilbench::cli {

std::optional<std::string> installed_share() {
    std::error_code ec;
    const std::filesystem::path exe = std::filesystem::read_symlink("/proc/self/exe", ec);
    if (ec) return std::nullopt;
    const std::filesystem::path share = exe.parent_path().parent_path() / "share" / "gilbench";
    if (exe.parent_path().filename() != "bin" || !std::filesystem::is_directory(share / "slurm", ec))
        return std::nullopt;
    return share.string();
}

std::string probe_command() {
    if (const std::optional<std::string> share = installed_share()) return *share + "/bench/cpython_probe.py";
    return "bench/cpython_probe.py (scripts/fidelity runs the whole comparison)";
}

}  // namespace gilbench::cli
