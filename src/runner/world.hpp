// Preparing the MPI world for a run, before the first cell: the job text every rank parses,
// agreement on failures (one rank's problem stops every rank, and rank 0 says why), the
// embedded HTTP servers (one per node on loopback, or one shared on rank 0's node) and, after
// the run, what each of them served. Collective over `world` unless said otherwise.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <boost/mpi/communicator.hpp>

#include "http/server.hpp"
#include "runner/runner.hpp"

namespace gilbench::runner {

// Rank 0 decides, everybody learns the verdict: a non-empty `message` (rank 0's) stops all
// ranks; rank 0 prints "gilbench: error: MESSAGE". On return every rank holds the message.
bool failed_everywhere(const boost::mpi::communicator& world, std::string& message);
// Any rank's failure (`mine`, "" if none) stops all of them; the first is named with its rank.
bool any_failed(const boost::mpi::communicator& world, const std::string& mine);

// Rank 0 reads the job file (other nodes may not see the same path) and every rank gets its
// text. nullopt: it could not be read (rank 0 said why).
std::optional<std::string> share_job_text(const boost::mpi::communicator& world, const std::string& path);

// The embedded servers of a run. `server` is set on the ranks that run one (node rank 0 of
// each node; with a shared server, world rank 0 only).
struct Servers {
    std::unique_ptr<http::DelayServer> server;
    std::string base_url;  // what this rank's io cells without a url use; "" if no server runs
    bool shared = false;   // one server on rank 0's node for every node (--shared-server)
};

// Starts the servers if `needed`: on `shared_address` (a host name or IP of rank 0's node)
// if given, else one per node on 127.0.0.1. nullopt: some rank failed (rank 0 said which).
std::optional<Servers> start_servers(const boost::mpi::communicator& world, const Topology& topology, bool needed,
                                     const std::string& shared_address);

// Rank 0 alone: probes every external URL (cells' url) once, so a typo fails in a second
// instead of after a sweep. "" if all answered, else the first failure and the fix.
std::string check_urls(const std::vector<model::Cell>& cells);

// What each embedded server answered during this start, gathered to rank 0.
struct ServedCounts {
    std::vector<std::int64_t> per_host;  // per host of the run (`host_of`), -1 where no server ran
    std::string text;                    // "host1 120, host2 118": per node of this start
};
// `host_of`: this start's node id -> index in the run's hosts (store::HostMap::node), of which
// there are `hosts`. Collective; the result is filled on rank 0 only.
ServedCounts served_counts(const boost::mpi::communicator& world, const Topology& topology, const Servers& servers,
                           const std::vector<int>& host_of, std::size_t hosts);

}  // namespace gilbench::runner
