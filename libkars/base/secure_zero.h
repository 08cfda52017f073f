// Wiping memory that held secrets, in a way the optimiser may not remove.
#ifndef KARS_BASE_SECURE_ZERO_H_
#define KARS_BASE_SECURE_ZERO_H_

#include <cstddef>
#include <string>

namespace kars {

void SecureZero(void* data, std::size_t size);

// Wipes the string's whole buffer (capacity, not just size), then clears it.
void SecureZero(std::string& s);

}  // namespace kars

#endif  // KARS_BASE_SECURE_ZERO_H_
