#include "core/common/process_metrics.hpp"

#include <sys/resource.h>
#include <unistd.h>

#include <charconv>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <vector>

namespace oemlink {
namespace {

std::string read_text(const char* path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

std::optional<double> boot_time_seconds() {
  std::istringstream in(read_text("/proc/stat"));
  std::string line;
  while (std::getline(in, line))
    if (line.rfind("btime ", 0) == 0) return std::stod(line.substr(6));
  return std::nullopt;
}

}  // namespace

std::optional<ProcessFigures> parse_proc_stat(std::string_view stat, long ticks_per_second,
                                              long page_size, double boot_time_seconds) {
  // Fields after the command's closing parenthesis, from field 3 (state) on.
  size_t close = stat.rfind(')');
  if (close == std::string_view::npos || ticks_per_second <= 0) return std::nullopt;
  std::vector<std::string_view> f;
  std::string_view rest = stat.substr(close + 1);
  size_t i = 0;
  while (i < rest.size()) {
    while (i < rest.size() && (rest[i] == ' ' || rest[i] == '\n')) ++i;
    size_t j = i;
    while (j < rest.size() && rest[j] != ' ' && rest[j] != '\n') ++j;
    if (j > i) f.push_back(rest.substr(i, j - i));
    i = j;
  }
  // f[0] is field 3; utime 14, stime 15, starttime 22, vsize 23, rss 24.
  if (f.size() < 22) return std::nullopt;
  auto num = [&](size_t field, double& out) {
    std::string_view s = f[field - 3];
    unsigned long long v = 0;
    auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
    if (ec != std::errc() || p != s.data() + s.size()) return false;
    out = static_cast<double>(v);
    return true;
  };
  double utime, stime, start, vsize, rss;
  if (!num(14, utime) || !num(15, stime) || !num(22, start) || !num(23, vsize) || !num(24, rss))
    return std::nullopt;
  ProcessFigures p;
  const double hz = static_cast<double>(ticks_per_second);
  p.cpu_seconds = (utime + stime) / hz;
  p.start_time_seconds = boot_time_seconds + start / hz;
  p.virtual_bytes = vsize;
  p.resident_bytes = rss * static_cast<double>(page_size);
  return p;
}

std::optional<ProcessFigures> read_process_figures() {
  auto boot = boot_time_seconds();
  if (!boot) return std::nullopt;
  auto p = parse_proc_stat(read_text("/proc/self/stat"), sysconf(_SC_CLK_TCK),
                           sysconf(_SC_PAGESIZE), *boot);
  if (!p) return std::nullopt;
  std::error_code ec;
  size_t fds = 0;
  for (std::filesystem::directory_iterator it("/proc/self/fd", ec), end; !ec && it != end;
       it.increment(ec))
    ++fds;
  p->open_fds = fds > 0 ? static_cast<double>(fds - 1) : 0;  // minus the iterator's own
  rlimit lim{};
  if (getrlimit(RLIMIT_NOFILE, &lim) == 0)
    p->max_fds = lim.rlim_cur == RLIM_INFINITY ? -1 : static_cast<double>(lim.rlim_cur);
  return p;
}

CollectorRegistration register_process_metrics(MetricsRegistry& m) {
  Counter& cpu =
      m.counter("process_cpu_seconds_total", "Total user and system CPU time spent in seconds.");
  Gauge& rss = m.gauge("process_resident_memory_bytes", "Resident memory size in bytes.");
  Gauge& vsz = m.gauge("process_virtual_memory_bytes", "Virtual memory size in bytes.");
  Gauge& open = m.gauge("process_open_fds", "Number of open file descriptors.");
  Gauge& max = m.gauge("process_max_fds", "Maximum number of open file descriptors.");
  Gauge& start = m.gauge("process_start_time_seconds",
                         "Start time of the process since unix epoch in seconds.");
  return m.add_collector([&cpu, &rss, &vsz, &open, &max, &start] {
    auto p = read_process_figures();
    if (!p) return;  // no /proc: the figures keep their last values
    cpu.raise_to(p->cpu_seconds);
    rss.set(p->resident_bytes);
    vsz.set(p->virtual_bytes);
    open.set(p->open_fds);
    max.set(p->max_fds);
    start.set(p->start_time_seconds);
  });
}

}  // namespace oemlink
