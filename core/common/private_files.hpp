// Files only this user may read (key files, databases, the sealed vault), created so that they
// survive a crash or power loss once the call returns. Every function throws FileError naming
// the path at fault.
#pragma once

#include <cstdint>
#include <filesystem>
#include <span>
#include <stdexcept>
#include <string>

namespace oemlink {

class FileError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// Creates the missing ancestors of `file` with mode 0700 (existing ones are left alone).
void create_private_parent_dirs(const std::filesystem::path& file);

// Creates `file` empty with mode 0600 (and its parents, as above) unless it exists; an existing
// file keeps its mode. For SQLite databases: SQLite copies the main file's mode to its -wal and
// -shm files, so they stay private even under a permissive umask.
void create_private_file(const std::filesystem::path& file);

// fsync()s the directory holding `file` so a just-created directory entry survives power loss.
// Best effort: some filesystems refuse fsync on directories.
void sync_parent_dir(const std::filesystem::path& file);

enum class IfExists { keep, replace };

// Puts `content` at `file`, mode 0600, all or nothing: a temporary next to it is written and
// fsynced, then moved into place and the directory fsynced. With IfExists::keep an existing
// `file` is never replaced (not even by a concurrent writer: the move refuses atomically) and
// false is returned; otherwise true. Missing parents are created 0700.
bool write_private_file(const std::filesystem::path& file, std::span<const uint8_t> content,
                        IfExists if_exists);

// "0644"-style rendering of st_mode's permission bits, for error messages.
std::string mode_string(unsigned mode);

}  // namespace oemlink
