// Filesystem helpers for files only this user may read (the key file, the database).
#pragma once

#include <filesystem>
#include <string>

namespace oemlink::store {

// Creates the missing ancestors of `file` with mode 0700 (existing ones are left alone).
// Throws StoreError naming the directory that could not be created.
void create_private_parent_dirs(const std::filesystem::path& file);

// fsync()s the directory holding `file` so a just-created directory entry survives power loss.
// Best effort: some filesystems refuse fsync on directories.
void sync_parent_dir(const std::filesystem::path& file);

// "0644"-style rendering of st_mode's permission bits, for error messages.
std::string mode_string(unsigned mode);

}  // namespace oemlink::store
