#include "runner/world.hpp"

#include <arpa/inet.h>
#include <netdb.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <map>
#include <stdexcept>

#include <boost/mpi/collectives.hpp>
#include <boost/serialization/string.hpp>
#include <boost/serialization/vector.hpp>
#include <fmt/format.h>

#include "http/client.hpp"
#include "job/job.hpp"
#include "report/console.hpp"

namespace gilbench::runner {
namespace {

// The IPv4 address of `name` (an address is returned as it is), for binding a server.
std::string resolve_ipv4(const std::string& name) {
    addrinfo hints{};
    hints.ai_family = AF_INET;
    addrinfo* found = nullptr;
    if (const int rc = getaddrinfo(name.c_str(), nullptr, &hints, &found); rc != 0)
        throw std::runtime_error(fmt::format("cannot resolve '{}': {}; give the node's IP address", name,
                                             gai_strerror(rc)));
    char text[INET_ADDRSTRLEN] = {};
    inet_ntop(AF_INET, &reinterpret_cast<const sockaddr_in*>(found->ai_addr)->sin_addr, text, sizeof text);
    freeaddrinfo(found);
    return text;
}

}  // namespace

bool failed_everywhere(const boost::mpi::communicator& world, std::string& message) {
    boost::mpi::broadcast(world, message, 0);
    if (!message.empty() && world.rank() == 0) report::print_safely(stderr, "gilbench: error: {}\n", message);
    return !message.empty();
}

bool any_failed(const boost::mpi::communicator& world, const std::string& mine) {
    std::vector<std::string> all;
    boost::mpi::gather(world, mine, all, 0);
    std::string first;
    if (world.rank() == 0)
        for (std::size_t r = 0; r < all.size() && first.empty(); ++r)
            if (!all[r].empty()) first = fmt::format("rank {}: {}", r, all[r]);
    return failed_everywhere(world, first);
}

std::optional<std::string> share_job_text(const boost::mpi::communicator& world, const std::string& path) {
    std::string text, error;
    if (world.rank() == 0) {
        try {
            text = job::load_job(path).text;
        } catch (const std::exception& e) {
            error = e.what();
        }
    }
    if (failed_everywhere(world, error)) return std::nullopt;
    boost::mpi::broadcast(world, text, 0);
    return text;
}

std::optional<Servers> start_servers(const boost::mpi::communicator& world, const Topology& topology, bool needed,
                                     const std::string& shared_address) {
    Servers s;
    std::string error;
    int port = 0;
    if (needed && !shared_address.empty()) {
        // Opt-in model of a shared remote service: rank 0's node serves every node, on the
        // address given (so its requests cross the network), not on loopback.
        s.shared = true;
        std::string address;
        if (world.rank() == 0) {
            try {
                address = resolve_ipv4(shared_address);
                http::ServerConfig config;
                config.bind_address = address;
                s.server = std::make_unique<http::DelayServer>(config);
                port = s.server->port();
            } catch (const std::exception& e) {
                error = fmt::format("--shared-server {}: {}", shared_address, e.what());
            }
        }
        if (failed_everywhere(world, error)) return std::nullopt;
        boost::mpi::broadcast(world, address, 0);
        boost::mpi::broadcast(world, port, 0);
        s.base_url = fmt::format("http://{}:{}/", address, port);
        return s;
    }
    if (needed && topology.node_rank == 0) {
        try {
            s.server = std::make_unique<http::DelayServer>(http::ServerConfig{});
            port = s.server->port();
        } catch (const std::exception& e) {
            error = fmt::format("embedded HTTP server on {}: {}",
                                topology.hosts[static_cast<std::size_t>(topology.node)], e.what());
        }
    }
    if (any_failed(world, error)) return std::nullopt;
    int node_port = port;
    boost::mpi::broadcast(topology.node_comm, node_port, 0);
    if (node_port) s.base_url = fmt::format("http://127.0.0.1:{}/", node_port);
    return s;
}

// Each probe has the deadline its cells' requests will have (the longest, where cells that
// share the URL differ), so a server that stalls or drips fails here too, and no sooner.
std::string check_urls(const std::vector<model::Cell>& cells) {
    std::map<std::string, double> urls;  // URL -> io_timeout_s
    for (const auto& c : cells)
        if (c.workload != model::Workload::cpu && !c.url.empty())
            urls[c.url] = std::max(urls[c.url], c.io_timeout_s);
    for (const auto& [url, timeout_s] : urls) {
        http::HttpClient client(http::ClientConfig{
            .timeout = std::chrono::milliseconds(static_cast<std::int64_t>(std::ceil(timeout_s * 1000.0)))});
        const http::GetResult r = client.get(url);
        if (!r.ok())
            return fmt::format("cannot reach --url/url '{}': {}; check the address, or leave url out to use "
                               "the embedded server",
                               url, r.error);
    }
    return {};
}

ServedCounts served_counts(const boost::mpi::communicator& world, const Topology& topology, const Servers& servers,
                           const std::vector<int>& host_of, std::size_t hosts) {
    const std::int64_t served = servers.server ? static_cast<std::int64_t>(servers.server->requests_served()) : -1;
    std::vector<std::int64_t> by_rank;
    boost::mpi::gather(world, served, by_rank, 0);
    ServedCounts out;
    if (world.rank() != 0) return out;
    out.per_host.assign(hosts, -1);
    for (std::size_t r = 0; r < by_rank.size(); ++r) {
        if (by_rank[r] < 0) continue;
        const auto node = static_cast<std::size_t>(topology.rank_node[r]);
        const std::size_t at = node < host_of.size() ? static_cast<std::size_t>(host_of[node]) : node;
        out.per_host.at(at) = by_rank[r];
        out.text += fmt::format("{}{} {}", out.text.empty() ? "" : ", ", topology.hosts[node], by_rank[r]);
    }
    return out;
}

}  // namespace gilbench::runner
