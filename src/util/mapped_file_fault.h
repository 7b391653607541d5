// A read from a mapped file that was truncated underneath us raises SIGBUS.
// Mapped files register here, and the handler names the file and the offset
// before exiting with code 1, instead of a bare "Bus error".
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

namespace quest {

// Installs the SIGBUS handler (main() calls it once).
void InstallMappedFileFaultHandler();

// Called by MappedFile on map and unmap.
void RegisterMapping(const uint8_t* data, size_t size, const std::string& path);
void UnregisterMapping(const uint8_t* data);

}  // namespace quest
