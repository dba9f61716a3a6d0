#pragma once

#include <span>

#include "common/db.h"

namespace techtrade::registry {

std::span<const Migration> RegistryMigrations();

}  // namespace techtrade::registry
