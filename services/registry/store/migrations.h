#pragma once

#include <span>

#include "common/migrations.h"

namespace techtrade::registry {

// services/registry/migrations/*.sql, embedded at build time.
std::span<const Migration> RegistryMigrations();

}  // namespace techtrade::registry
