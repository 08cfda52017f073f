// Small helpers every CLI command uses: files in and out, errors from the C ABI out.
#ifndef KARS_HOSTS_CLI_IO_H_
#define KARS_HOSTS_CLI_IO_H_

#include <optional>
#include <string>

#include "kars/common.h"

namespace kars::cli {

// Reads a whole file; on failure prints "kars: cannot read PATH: reason" and returns nullopt.
std::optional<std::string> ReadFile(const std::string& path);

// Writes a whole file with the given mode (created or truncated); prints the reason on failure.
bool WriteFile(const std::string& path, const std::string& bytes, int mode = 0644);

// Prints "kars: <context>: <message> (<KARS_E_...>)" to stderr and frees err.
void PrintError(const char* context, kars_error* err);

}  // namespace kars::cli

#endif  // KARS_HOSTS_CLI_IO_H_
