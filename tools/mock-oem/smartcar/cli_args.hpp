// The small argv reader both Smartcar commands use: "--name value" and "--name=value", with
// errors that name the option at fault.
#pragma once

#include <charconv>
#include <cstdint>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>

namespace oemlink::mock_oem::smartcar {

class CliArgs {
 public:
  CliArgs(int argc, char** argv) : argc_(argc), argv_(argv) {}

  bool done() const { return index_ >= argc_; }
  // The next option's name ("--port"), or a positional argument as is.
  std::string next() {
    std::string arg = argv_[index_++];
    inline_value_.reset();
    if (arg.rfind("--", 0) == 0)
      if (auto eq = arg.find('='); eq != std::string::npos) {
        inline_value_ = arg.substr(eq + 1);
        arg.resize(eq);
      }
    current_ = arg;
    return arg;
  }
  std::string value() {
    if (inline_value_) return *std::exchange(inline_value_, std::nullopt);
    if (index_ >= argc_) throw std::invalid_argument(current_ + " needs a value");
    return argv_[index_++];
  }
  int64_t integer(int64_t min, int64_t max) {
    const std::string text = value();
    int64_t v = 0;
    auto [p, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
    if (ec != std::errc() || p != text.data() + text.size() || v < min || v > max)
      throw std::invalid_argument(current_ + " must be an integer from " + std::to_string(min) +
                                  " to " + std::to_string(max) + ", got \"" + text + "\"");
    return v;
  }
  double number(double min, double max) {
    const std::string text = value();
    size_t used = 0;
    double v = 0;
    try {
      v = std::stod(text, &used);
    } catch (const std::exception&) {
      used = 0;
    }
    if (used != text.size() || text.empty() || v < min || v > max)
      throw std::invalid_argument(current_ + " must be a number from " + std::to_string(min) +
                                  " to " + std::to_string(max) + ", got \"" + text + "\"");
    return v;
  }
  [[noreturn]] void unknown() const {
    throw std::invalid_argument("unknown option " + current_ + " (see --help)");
  }

 private:
  int argc_;
  char** argv_;
  int index_ = 1;
  std::string current_;
  std::optional<std::string> inline_value_;
};

}  // namespace oemlink::mock_oem::smartcar
